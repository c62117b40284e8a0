# A CTest check (label "unit"): common/ is the library every lesson builds on,
# so it uses no lesson. Every #include "..." under common/ names one of its own
# files (in include/ or beside the file that includes it), and no #include
# mentions lessons/. Run as: cmake -DCOMMON=<common/> -P own_includes.cmake
file(GLOB_RECURSE sources ${COMMON}/*.cpp ${COMMON}/*.hpp ${COMMON}/*.h)
set(found "")
foreach(source IN LISTS sources)
  get_filename_component(here ${source} DIRECTORY)
  file(STRINGS ${source} includes REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
  foreach(line IN LISTS includes)
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]+)[>\"].*" "\\1" header "${line}")
    if(header MATCHES "(^|/)lessons/")
      list(APPEND found "${source}: ${line}")
    elseif(line MATCHES "#[ \t]*include[ \t]*\"" AND NOT EXISTS ${COMMON}/include/${header}
           AND NOT EXISTS ${here}/${header})
      list(APPEND found "${source}: ${line}")
    endif()
  endforeach()
endforeach()
if(found)
  list(JOIN found "\n  " text)
  message(FATAL_ERROR "common/ includes files that are not its own (a lesson's?):\n  ${text}")
endif()
list(LENGTH sources count)
message(STATUS "${count} files of common/ include only common/ and system headers")

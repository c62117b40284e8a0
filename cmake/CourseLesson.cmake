# Helpers every lesson's CMakeLists.txt uses.
#
#   course_program(NAME source.cpp...)  one binary in build/bin, linked with common/
#   course_lesson_tests()               the lesson's pytest module as a CTest test,
#                                       labelled with the lesson number ("03")
#   course_fuzz_target(NAME source.cpp...) a libFuzzer target (-DCOURSE_FUZZ=ON only)

# The Python that has pytest (Debian's, not necessarily the first python3 on PATH).
set(COURSE_PYTHON "" CACHE FILEPATH "Python interpreter with pytest, pytest-timeout and pytest-xdist")
if(NOT COURSE_PYTHON)
  if(EXISTS /usr/bin/python3)
    set(COURSE_PYTHON /usr/bin/python3)
  else()
    set(COURSE_PYTHON ${Python3_EXECUTABLE})
  endif()
endif()

function(course_program name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE course::common)
  # The standard headers every program includes, parsed once.
  target_precompile_headers(${name} REUSE_FROM course_pch)
endfunction()

function(course_lesson_tests)
  get_filename_component(folder ${CMAKE_CURRENT_SOURCE_DIR} NAME)
  string(SUBSTRING ${folder} 0 2 number)
  add_test(NAME lesson-${folder}
           COMMAND ${COURSE_PYTHON} -m pytest -q -p no:cacheprovider
                   --bin-dir ${CMAKE_RUNTIME_OUTPUT_DIRECTORY} ${CMAKE_CURRENT_SOURCE_DIR}
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(lesson-${folder} PROPERTIES LABELS "${number};lessons" TIMEOUT 300)
endfunction()

# A libFuzzer target (clang, -DCOURSE_FUZZ=ON), built into build-*/fuzz/ from
# fuzz/<name>.cpp and the code under test (a lesson's own sources are compiled
# into it, so they get the fuzzer's coverage instrumentation too), with the
# calling folder's headers on the include path. Its seed corpus lives beside it
# in fuzz/corpus/<name>/; ./course fuzz finds and runs it.
function(course_fuzz_target name)
  if(COURSE_FUZZ)
    add_executable(${name} ${ARGN})
    target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
    target_link_libraries(${name} PRIVATE course::common)
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  endif()
endfunction()

"""The course tool behind ./course (a short sh launcher that runs cli.main).

cli.py parses the command line; console.py prints; project.py knows the root
and the lessons (course.toml, read by meta.py alone); setup.py installs what is
missing; build.py runs CMake; testrun.py runs the tests and prints the table;
show.py runs and captures lesson demos; docs.py and fuzz.py are the CI extras.
The exercise machinery: meta (metadata), regions (solution regions), release
(the student version), grade (points) and student (hints, progress, watch),
driven by exercise_commands.py. Standard library only (plus tomli on Python
3.10): ./course imports it before anything is installed."""

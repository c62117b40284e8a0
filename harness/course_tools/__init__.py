"""The course's exercise machinery: metadata, solution regions, the student
release, grading, hints and progress.  Standard library only: ./course imports
it before anything is installed."""

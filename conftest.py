# Makes the course's pytest plugin available to plain `pytest` from the repo root.
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "harness"))
pytest_plugins = ["course_harness.plugin"]

# The tests read the course tool's English messages: a Chinese locale must not change them
# (harness/tests/test_languages.py asks for Chinese where it means to).
os.environ["COURSE_LANG"] = "en"

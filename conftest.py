# Makes the course's pytest plugin available to plain `pytest` from the repo root.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "harness"))
pytest_plugins = ["course_harness.plugin"]

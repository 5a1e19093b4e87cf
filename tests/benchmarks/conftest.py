"""The benchmarks' shared modules, importable by the tests as the scripts import them (`import harness`)."""

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

# Only for these imports: benchmarks/ holds scripts named model.py, tokenizer.py, ... that must not shadow
# anything else the tests import.
sys.path.insert(0, str(BENCHMARKS))
try:
    import harness  # noqa: F401
    import report  # noqa: F401
finally:
    sys.path.remove(str(BENCHMARKS))

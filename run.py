"""Start the aggregator service: `python run.py` is `aggregator run` (extra arguments pass on)."""

import sys

from aggregator.cli import main

if __name__ == "__main__":
    sys.exit(main([*sys.argv[1:], "run"] if "run" not in sys.argv[1:] else sys.argv[1:]))

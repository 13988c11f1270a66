"""`python -m aggregator` is the `aggregator` command."""

import sys

from aggregator.cli import main

sys.exit(main())

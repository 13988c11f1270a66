"""`python -m aggregator` is the `aggregator` command."""

import sys

from aggregator.cli.main import main

sys.exit(main())

"""Start the aggregator service: `python run.py` is `aggregator run`; `python run.py web`
(or any other command) runs that command, and options before it pass on."""

import sys

from aggregator.cli.main import command_names, main

if __name__ == "__main__":
    args = sys.argv[1:]
    has_command = any(arg in command_names() for arg in args)
    sys.exit(main(args if has_command else [*args, "run"]))

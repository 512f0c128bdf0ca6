"""Attention Market command line: `python run.py --help`."""

import sys

from simulation.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

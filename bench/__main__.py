"""`make bench`: every benchmark, figures as ratios from one run."""

from __future__ import annotations

import sys

from bench import startup, sweep


def main() -> int:
    startup.run()
    print()
    sweep.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

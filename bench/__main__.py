"""`make bench`: every benchmark, figures as ratios from one run."""

from __future__ import annotations

import sys

from bench import simulate_bench, startup, sweep


def main() -> int:
    startup.run()
    print()
    sweep.run()
    print()
    simulate_bench.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

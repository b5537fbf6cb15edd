"""`make bench`: every benchmark, figures as ratios from one run. `python -m bench NAME …` runs some
(package, startup, send, campaigns, funnel, webhooks, simulate, activities, console, sweep — the sweep
takes about 25 minutes)."""

from __future__ import annotations

import importlib
import sys

ALL = (
    "package",
    "startup",
    "send",
    "campaigns",
    "funnel",
    "webhooks",
    "simulate",
    "activities",
    "console",
    "sweep",
)
MODULES = {
    "package": "package_size",
    "startup": "startup",
    "send": "send_bench",
    "campaigns": "campaign_bench",
    "funnel": "funnel_bench",
    "webhooks": "webhook_bench",
    "simulate": "simulate_bench",
    "activities": "activities_bench",
    "console": "console_bench",
    "sweep": "sweep",
}


def main(argv: list[str]) -> int:
    names = argv or list(ALL)
    unknown = [n for n in names if n not in MODULES]
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(ALL)}", file=sys.stderr)
        return 2
    for i, name in enumerate(names):
        if i:
            print()
        importlib.import_module(f"bench.{MODULES[name]}").run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

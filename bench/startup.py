"""Lambda start-up cost: import time of ``app.py`` (and of each handler's first-invocation imports)
as a ratio to ``import boto3``, each in a fresh interpreter, medians of several runs in one session."""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 7

CASES = {
    "import boto3": "import boto3",
    "import app": "import app",
    "app + API handler (first request)": "import app, chalicelib.handlers.http",
    "app + stream handlers (first record)": "import app, chalicelib.handlers.streams",
    "app + sender (first message)": "import app, chalicelib.handlers.sender",
    "app + schedule/timers (first tick)": "import app, chalicelib.handlers.schedule",
}


def _import_seconds(statement: str) -> float:
    """Seconds spent importing, measured inside a fresh interpreter (interpreter start-up excluded)."""
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", "PYTHONPATH": str(ROOT)},
    )
    return float(out.stdout.strip())


def run() -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(RUNS):  # interleaved, so drift on a noisy machine hits every case alike
        for name, statement in CASES.items():
            samples[name].append(_import_seconds(statement))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    base = medians["import boto3"]
    print(f"Start-up cost (median of {RUNS} fresh interpreters; ratio to `import boto3` in this run)")
    results: dict[str, float] = {}
    for name, value in medians.items():
        ratio = value / base
        results[name] = ratio
        goal = "  (goal ≤ 1.5)" if name == "import app" else ""
        print(f"  {name:<40} {value * 1000:7.1f} ms   ratio {ratio:5.2f}{goal}")
    return results

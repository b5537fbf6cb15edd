"""The operator console: its page weight (every file the browser loads for it, as shipped and as
gzip would send it) and its first render in headless Chromium, as a ratio to a blank page on the
same server.

The server is the browser tests' fake API (``tests/browser/fake_api.py``): the console's own files
with the headers the stack sends, and canned answers, so the figure is the console's own cost (its
files, its modules, its first API call and drawing), not the local stack's Lambda cold starts. A
render is timed from the navigation to the first page's section in the document (the funnel,
drawn from its API answer), the blank page to its one paragraph; each in a fresh browser context
(nothing cached), interleaved, the median of the rounds; then the same again with the files cached
(a second visit)."""

from __future__ import annotations

import gzip
import statistics
import time
from pathlib import Path
from typing import Any

from chalicelib.handlers.console import FILES

ROUNDS = 15
KIB = 1024


def weight() -> tuple[int, int, int]:
    """(files, bytes, bytes gzipped one by one) of the console."""
    files = sorted(p for p in Path(FILES).iterdir() if p.is_file())
    raw = sum(p.stat().st_size for p in files)
    zipped = sum(len(gzip.compress(p.read_bytes(), 9)) for p in files)
    return len(files), raw, zipped


def _visit(context: Any, url: str, selector: str) -> float:
    page = context.new_page()
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(selector)
    elapsed = time.perf_counter() - started
    page.close()
    return elapsed


def render_times(rounds: int = ROUNDS) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    from tests.browser import fake_api
    from tests.browser.chromium import launch

    cold: dict[str, list[float]] = {"console": [], "blank": []}
    warm: dict[str, list[float]] = {"console": [], "blank": []}
    with fake_api.serving() as (base, _), sync_playwright() as playwright:
        browser = launch(playwright)
        console = (f"{base}/console#key={fake_api.KEY}", "#page-funnel")
        blank = (f"{base}/blank", "p")
        for n in range(rounds + 1):  # the first round warms the browser and the server up
            for name, (url, selector) in (("console", console), ("blank", blank)):
                context = browser.new_context()
                first = _visit(context, url, selector)
                second = _visit(context, url, selector)
                context.close()
                if n:
                    cold[name].append(first)
                    warm[name].append(second)
        browser.close()
    return {
        "console_ms": statistics.median(cold["console"]) * 1000,
        "blank_ms": statistics.median(cold["blank"]) * 1000,
        "cold_ratio": statistics.median(cold["console"]) / statistics.median(cold["blank"]),
        "warm_ratio": statistics.median(warm["console"]) / statistics.median(warm["blank"]),
    }


def run() -> dict[str, float]:
    files, raw, zipped = weight()
    times = render_times()
    print("Operator console (GET /console; chalicelib/console, hand-written, no build step)")
    print(f"  page weight     {raw / KIB:6.1f} KB in {files} files ({zipped / KIB:.1f} KB gzipped)")
    print(
        f"  first render    ÷ a blank page on the same server: {times['cold_ratio']:5.2f} "
        f"(nothing cached; median of {ROUNDS}), {times['warm_ratio']:5.2f} (files cached)"
    )
    return {"weight_kb": raw / KIB, "gzip_kb": zipped / KIB, **times}

"""Headless Chromium for the console's tests and benchmark: Debian's ``chromium`` (``make test``
installs it) driven by Playwright, which cannot download a browser of its own here."""

from __future__ import annotations

import os
import shutil
from typing import Any

EXECUTABLE = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch(playwright: Any) -> Any:
    if not (os.path.exists(EXECUTABLE) or shutil.which(EXECUTABLE)):
        raise RuntimeError(f"{EXECUTABLE} not found: `make chromium` installs Debian's chromium (as root)")
    return playwright.chromium.launch(executable_path=EXECUTABLE, args=ARGS)

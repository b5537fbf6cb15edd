"""Where things are in a checkout, and small helpers shared by the verbs."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
INFRA_TEMPLATE = ROOT / "infra" / "template.json"
DEFAULT_REGION = "us-east-1"
LOCAL_ACCOUNT_KEYS = {"AWS_ACCESS_KEY_ID": "000000000000", "AWS_SECRET_ACCESS_KEY": "test"}


class CliError(Exception):
    """A failure explained in one line; the CLI prints it and exits 1, without a traceback."""


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def stack_name(stage: str) -> str:
    return f"memberpulse-{stage}"


def venv_bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


class Progress:
    """Prints one line per step with the time since the start: long steps show they are alive."""

    def __init__(self, quiet: bool = False) -> None:
        self.start = time.monotonic()
        self.quiet = quiet

    def step(self, text: str) -> None:
        if not self.quiet:
            print(f"[{time.monotonic() - self.start:6.1f}s] {text}", file=sys.stderr, flush=True)


# MiniStack runs one worker process per concurrent invocation, each with its own unzipped copy of
# the code (~155 MB), and caps none: a burst of 200 API requests would start 200 of them and fill
# the disk. Locally the API function gets this many at once (the rest are throttled: 429, which
# clients retry); on AWS it scales. 8: more than the 6 requests a browser makes at once to one host,
# so the console's files (which a browser cannot retry) are never refused.
LOCAL_API_CONCURRENCY = 8

"""End to end: our own local stack (MiniStack on its own port, fresh), driven through the public API
and the CLI exactly as a store's engineer would. Slow (a deploy, Lambda cold starts): one stack per run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memberpulse_cli.client import ApiClient

ROOT = Path(__file__).resolve().parents[2]
PORT = int(os.environ.get("MEMBERPULSE_E2E_PORT", "4599"))
STATE = ROOT / ".local" / f"e2e-{PORT}"
CLI = [sys.executable, "-m", "memberpulse_cli.main"]


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*CLI, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    if check and done.returncode != 0:
        raise AssertionError(f"memberpulse {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture(scope="session")
def stack() -> Iterator[dict[str, Any]]:
    cli("up", "--port", str(PORT), "--state-dir", str(STATE), "--fresh")
    try:
        yield json.loads((STATE / "stack.json").read_text())
    finally:
        if not os.environ.get("MEMBERPULSE_E2E_KEEP"):
            cli("down", "--port", str(PORT), "--state-dir", str(STATE), check=False)


@pytest.fixture(scope="session")
def api(stack: dict[str, Any]) -> ApiClient:
    return ApiClient(stack["api_url"], stack["api_key"])


@pytest.fixture(scope="session")
def stack_file(stack: dict[str, Any]) -> str:
    return str(STATE / "stack.json")

"""``memberpulse down`` removes the code copies of MiniStack's Lambda workers it stops (MiniStack
removes one only when it retires the worker itself), and only those of its own process group."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from memberpulse_cli.ministack import worker_dirs

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")


def test_the_worker_copies_of_a_process_group_are_found_and_no_others(tmp_path: Path) -> None:
    ours = tmp_path / "ministack-lambda-memberpulse-dev-APIHandler-1A2B-x7y8z9"
    theirs = tmp_path / "ministack-lambda-memberpulse-dev-Send-3C4D-q1w2e3"
    for d in (ours, theirs):
        d.mkdir()
    sleep = "import time; time.sleep(60)"
    # MiniStack's process starts its workers: they share its process group
    child = [sys.executable, "-c", sleep, str(ours / "_worker.py")]
    spawn = f"import subprocess, time; subprocess.Popen({child!r}); time.sleep(60)"
    leader = subprocess.Popen([sys.executable, "-c", spawn], start_new_session=True)
    other = subprocess.Popen([sys.executable, "-c", sleep, str(theirs / "_worker.py")], start_new_session=True)
    try:
        found: set[Path] = set()
        deadline = time.monotonic() + 10
        while not found and time.monotonic() < deadline:
            found = worker_dirs(leader.pid)
        assert found == {ours}
    finally:
        os.killpg(leader.pid, signal.SIGKILL)
        leader.wait()
        other.kill()
        other.wait()

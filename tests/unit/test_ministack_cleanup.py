"""Stopping one local stack leaves another stack's Lambda code copies alone: every stack deploys the
same template, so its functions have the same names on every port (``memberpulse-dev-APIHandler-…``)
and a copy's name cannot tell whose it is; only the stopped MiniStack's own process group can."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from memberpulse_cli.ministack import MiniStack
from memberpulse_cli.project import Progress

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")

FUNCTION = "memberpulse-dev-APIHandler-315FA909FA45F"


def test_stopping_a_stack_leaves_the_running_code_of_another_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    other_stacks_copy = temp / f"ministack-lambda-{FUNCTION}-q1w2e3"
    (other_stacks_copy / "code").mkdir(parents=True)
    state = tmp_path / "stack-4605"
    state.mkdir()
    (state / "stack.json").write_text(json.dumps({"functions": {"app": FUNCTION}}))
    leader = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    (state / "ministack.pid").write_text(str(leader.pid))
    try:
        assert MiniStack(port=4605, state_dir=state).stop(Progress(quiet=True)) is True
    finally:
        leader.kill()
        leader.wait()
    assert (other_stacks_copy / "code").is_dir()

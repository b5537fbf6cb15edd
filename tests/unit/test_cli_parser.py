"""The `memberpulse` argument parser: verbs and flags the docs promise (no AWS here)."""

from __future__ import annotations

import pytest

from memberpulse_cli.main import parser


def test_run_schedule_takes_wait_and_a_timeout() -> None:
    args = parser().parse_args(["run-schedule", "--at", "2026-12-01T02:00:00Z", "--wait", "--timeout", "30"])

    assert args.wait is True and args.timeout == 30.0


def test_run_schedule_without_wait_returns_at_once() -> None:
    args = parser().parse_args(["run-schedule", "--at", "2026-12-01T02:00:00Z"])

    assert args.wait is False


def test_run_schedule_needs_at(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["run-schedule", "--wait"])
    assert "--at" in capsys.readouterr().err

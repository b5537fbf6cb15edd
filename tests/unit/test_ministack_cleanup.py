"""`memberpulse down` removes the copies of its stack's functions that MiniStack leaves in the temp
directory (and nothing else there)."""

from __future__ import annotations

import json
from pathlib import Path

from memberpulse_cli.ministack import remove_function_copies


def test_only_this_stacks_function_copies_go(tmp_path: Path) -> None:
    stack_file = tmp_path / "stack.json"
    stack_file.write_text(
        json.dumps({"functions": {"send": "memberpulse-dev-Send-ABC", "app": "memberpulse-dev-API-1"}})
    )
    temp = tmp_path / "tmp"
    for name in (
        "ministack-lambda-memberpulse-dev-Send-ABC-x1y2",
        "ministack-lambda-memberpulse-dev-Send-ABC-z9",
        "ministack-lambda-memberpulse-dev-API-1-q",
        "ministack-lambda-memberpulse-dev-Send-OTHER-q",  # another stack's
        "something-else",
    ):
        (temp / name).mkdir(parents=True)
        (temp / name / "_worker.py").write_text("")

    assert remove_function_copies(stack_file, temp) == 3
    assert sorted(p.name for p in temp.iterdir()) == ["ministack-lambda-memberpulse-dev-Send-OTHER-q", "something-else"]


def test_without_a_stack_file_nothing_goes(tmp_path: Path) -> None:
    (tmp_path / "ministack-lambda-x-1").mkdir()
    assert remove_function_copies(tmp_path / "missing.json", tmp_path) == 0
    assert (tmp_path / "ministack-lambda-x-1").exists()

"""`memberpulse console`: the local stack's console link, signed in by its fragment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memberpulse_cli.main import main

API = "http://127.0.0.1:4566/_aws/execute-api/abc123/api"


def test_the_link_is_the_consoles_address_with_the_dev_key_in_the_fragment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = tmp_path / "stack.json"
    stack.write_text(json.dumps({"api_url": API, "api_key": "mp_dev-key"}))
    assert main(["console", "--stack-file", str(stack)]) == 0
    assert capsys.readouterr().out == f"{API}/console#key=mp_dev-key\n"
    assert main(["console", "--stack-file", str(stack), "--no-key"]) == 0
    assert capsys.readouterr().out == f"{API}/console\n"


def test_without_a_stack_it_says_how_to_bring_one_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["console", "--stack-file", str(tmp_path / "none.json")]) == 1
    assert "make up" in capsys.readouterr().err

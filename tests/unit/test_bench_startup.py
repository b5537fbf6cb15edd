"""The start-up benchmark's statements run: each case once, in a fresh interpreter over the
package's copy of the code, as ``bench/startup.py`` runs them (no timing asserted here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import startup
from memberpulse_cli.packaging import copy_project_files


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    at = tmp_path_factory.mktemp("package")
    copy_project_files(at)
    return at


@pytest.mark.parametrize("case", list(startup.CASES))
def test_each_case_runs(project: Path, case: str) -> None:
    cpu, wall = startup._seconds(startup.CASES[case], project)
    assert cpu >= 0 and wall >= 0

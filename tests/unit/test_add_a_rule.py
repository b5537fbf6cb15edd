"""README "Add a rule", done once: a new date rule is one module in chalicelib/domain/rules/ and one
section in rules.toml, nothing else. A copy of chalicelib gets the two files from docs/examples/;
then, in a process of its own, the engine schedules and sends the new rule like any other."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCENARIO = r"""
from datetime import UTC, datetime, timedelta
from chalicelib.domain.rules import RULES
from chalicelib.domain.model import Consent
from tests.fakes import FakeAdapters, fake_app, member

assert "membership_anniversary" in RULES
fakes = FakeAdapters()
app = fake_app(fakes)  # loads and checks the copied rules.toml, as a deployed function would
joined = datetime(2025, 12, 3, 4, 0, tzinfo=UTC)
alice = member("m-a", joined_at=joined, consent=Consent(marketing=True), timezone="Asia/Shanghai")
fakes.members.save(alice)
now = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
app.engine.member_changed(None, fakes.members.get("m-a"), now)
for day in range(1, 6):
    at = now + timedelta(days=day)
    app.timers.release_due(at)
    for when, keys in fakes.timer_queue.drain():
        app.timers.fire(keys, when)
sent = [m for m in fakes.messages.messages.values() if m.trigger == "membership_anniversary"]
assert len(sent) == 1, sent
assert sent[0].created_at == datetime(2026, 12, 3, 2, 0, tzinfo=UTC), sent[0].created_at
assert "1周年" in sent[0].text, sent[0].text
print("ok", sent[0].text)
"""


def test_a_new_date_rule_is_one_module_and_one_section(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "chalicelib", tmp_path / "chalicelib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "docs/examples/membership_anniversary.py", tmp_path / "chalicelib/domain/rules/")
    rules = tmp_path / "chalicelib/rules.toml"
    section = (ROOT / "docs/examples/membership_anniversary.toml").read_text(encoding="utf-8")
    rules.write_text(rules.read_text(encoding="utf-8") + "\n" + section, encoding="utf-8")

    done = subprocess.run(
        [sys.executable, "-c", SCENARIO],
        cwd=tmp_path,
        env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok ")


def test_a_module_without_its_section_is_refused_when_the_rules_load(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "chalicelib", tmp_path / "chalicelib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "docs/examples/membership_anniversary.py", tmp_path / "chalicelib/domain/rules/")
    check = (
        "from chalicelib.domain.rulebook import load_rule_book\n"
        "from chalicelib.domain.scheduling import check_sections\n"
        "check_sections(load_rule_book())\n"
    )

    done = subprocess.run(
        [sys.executable, "-c", check],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode != 0
    assert "rules.membership_anniversary" in done.stderr

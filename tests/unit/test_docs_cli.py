"""Every `memberpulse …` command line the docs show is one the CLI takes: its verb (and sub-verb)
answers ``--help``, every ``--flag`` shown is one that verb lists there (exactly, not a prefix), and
a value shown for a flag with fixed choices is one of them. The docs are README.md and every other
Markdown file of the project; command lines are found in code blocks (with ``\\`` continuations),
in inline code and in prose alike."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from memberpulse_cli.main import main

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".venv", ".local", ".git", ".pytest_cache", ".mypy_cache", ".ruff_cache", "node_modules"}
# `memberpulse` as a command (also `.venv/bin/memberpulse`), followed by its arguments.
COMMAND = re.compile(r"memberpulse(?=\s+[-a-z])")
# Where a command shown on a line ends: a code span closes, a table cell, a comment, `&&` or `;`.
END = re.compile(r"`|\s\|(?:\s|$)|\s#|&&|;")
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")
# An option line of argparse's help: "  -h, --help", "  --queue {inbound,send,timers}", "  --at AT".
HELP_OPTION = re.compile(r"^\s+(?:-\w, )?(--[a-z][a-z0-9-]*)(?: \{([^}]*)\})?", re.MULTILINE)


def doc_files() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.md") if not SKIP_DIRS.intersection(p.relative_to(ROOT).parts[:-1]))


@dataclass(frozen=True)
class Shown:
    where: str  # file:line
    text: str  # the command line as shown, from `memberpulse` on


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line), with a code block's ``\\``-continued lines joined."""
    out: list[tuple[int, str]] = []
    fenced = False
    pending: tuple[int, str] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if pending is not None:
            number, line = pending[0], pending[1] + " " + line.strip()
            pending = None
        if fenced and line.rstrip().endswith("\\"):
            pending = (number, line.rstrip()[:-1])
            continue
        out.append((number, line))
    return out


def shown_commands(path: Path, root: Path = ROOT) -> list[Shown]:
    shown: list[Shown] = []
    for number, line in logical_lines(path.read_text(encoding="utf-8")):
        for match in COMMAND.finditer(line):
            rest = line[match.end() :]
            end = END.search(rest)
            text = "memberpulse" + rest[: end.start() if end else None]
            shown.append(Shown(f"{path.relative_to(root)}:{number}", text))
    return shown


@cache
def help_text(path: tuple[str, ...]) -> str | None:
    """``memberpulse PATH --help`` (in process); None when the CLI refuses it (no such verb)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exit_:
        main([*path, "--help"])
    return out.getvalue() if exit_.value.code == 0 else None


def subverbs(help_: str) -> set[str]:
    """The sub-verbs a verb's help lists (``{create}``, ``{list,redrive}``), if it has any."""
    usage = help_.split("\n\n", 1)[0]
    found = re.search(r"\{([a-z,-]+)\}\s*\.\.\.", usage)
    return set(found.group(1).split(",")) if found else set()


def accepted(help_: str) -> dict[str, set[str] | None]:
    """Flags the help lists → their choices (None: any value)."""
    flags: dict[str, set[str] | None] = {}
    for flag, choices in HELP_OPTION.findall(help_):
        flags[flag] = set(choices.split(",")) if choices else None
    return flags


def problems(shown: Shown) -> list[str]:
    try:
        words = shlex.split(shown.text.replace("…", " "), posix=True)[1:]
    except ValueError:
        words = shown.text.split()[1:]
    verb = [words[0]] if words and not words[0].startswith("-") else []
    help_ = help_text(tuple(verb))
    if help_ is None:
        return [f"{shown.where}: `{shown.text}`: no verb {verb[0]!r} (`memberpulse --help` lists them)"]
    subs = subverbs(help_)
    if not (verb and subs):
        return flag_problems(shown, verb, help_, words[len(verb) :])
    second = words[1] if len(words) > 1 else ""
    shown_subs = second.split("|")  # `dlq list|redrive`: each alternative
    if not set(shown_subs) <= subs:
        return [f"{shown.where}: `{shown.text}`: `memberpulse {verb[0]}` needs one of {sorted(subs)}"]
    out = []
    for sub in shown_subs:
        sub_help = help_text((verb[0], sub))
        assert sub_help is not None
        out += flag_problems(shown, [verb[0], sub], sub_help, words[2:])
    return out


def flag_problems(shown: Shown, path: list[str], help_: str, tokens: list[str]) -> list[str]:
    """Each ``--flag`` among ``tokens`` is one ``memberpulse PATH`` lists, with an allowed value."""
    flags = accepted(help_)
    verb = " ".join(["memberpulse", *path])
    out = []
    for i, token in enumerate(tokens):
        for flag in FLAG.findall(token):
            if flag not in flags:
                out.append(f"{shown.where}: `{verb}` has no {flag}")
                continue
            choices = flags[flag]
            value = token.split("=", 1)[1] if "=" in token else (tokens[i + 1] if i + 1 < len(tokens) else "")
            value = value.strip("[]")
            shown_values = set(value.split("|"))  # `--queue send|timers`: each alternative
            if choices and value and not value.startswith("-") and not shown_values <= choices:
                out.append(f"{shown.where}: `{verb} {flag} {value}`: not one of {sorted(choices)}")
    return out


def test_the_docs_show_commands() -> None:
    everything = [s for path in doc_files() for s in shown_commands(path)]
    assert len(everything) > 20  # the parser above finds what the docs show
    assert any("--wait" in s.text for s in everything)


def test_every_command_line_in_the_docs_is_accepted_by_the_cli() -> None:
    offenders = [p for path in doc_files() for shown in shown_commands(path) for p in problems(shown)]
    assert not offenders, "the docs show what the CLI does not take:\n" + "\n".join(offenders)


# The checker itself: it must catch what a reader would be misled by.
@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("`memberpulse run-schedule --at T --wiat`", "has no --wiat"),
        ("`memberpulse run-schedule --stack T`", "has no --stack"),  # a prefix of --stack-file is not it
        ("`memberpulse dlq list --queue outbox`", "not one of"),
        ("`memberpulse dlq list --queue send|outbox`", "not one of"),
        ("`memberpulse dlq purge`", "needs one of"),
        ("`memberpulse dlq list|purge`", "needs one of"),
        ("`memberpulse dlq list|redrive --most 3`", "`memberpulse dlq redrive` has no --most"),
        ("`memberpulse reboot --now`", "no verb 'reboot'"),
        ("    .venv/bin/memberpulse up --parameter A=1 \\\n        --paramter B=2", "has no --paramter"),
        ("### `memberpulse up [--fresh] [--colour]`", "has no --colour"),
    ],
)
def test_the_checker_finds(tmp_path: Path, line: str, problem: str) -> None:
    doc = tmp_path / "doc.md"
    fence = "```\n" if line.startswith("    ") else ""
    doc.write_text(f"{fence}{line}\n{fence}", encoding="utf-8")
    found = [p for s in shown_commands(doc, tmp_path) for p in problems(s)]
    assert len(found) == 1 and problem in found[0], found


def test_the_checker_passes_what_is_right(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "Run `memberpulse dlq redrive --queue inbound`, then `memberpulse keys create --label x`.\n"
        "`memberpulse dlq list --queue send|timers|inbound` lists.\n"
        "```bash\n.venv/bin/memberpulse run-schedule --at T --wait   # settle first\n```\n",
        encoding="utf-8",
    )
    shown = shown_commands(doc, tmp_path)
    assert len(shown) == 4
    assert [p for s in shown for p in problems(s)] == []

"""``requirements.lock``: every package the Lambda zip holds, pinned with its hashes, compiled from
``requirements.txt`` by pip-tools (``make lock``). ``memberpulse package`` installs exactly this,
``--require-hashes``: a tampered or re-uploaded file fails the build instead of shipping.

What every Lambda Python runtime already provides (boto3, botocore and what they pull in) is left
out of the lock, so it is never vendored: pynamodb pulls botocore in, and vendoring it would
double the zip and the cold start. MiniStack's executor venv has them too."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from .project import ROOT, CliError, venv_bin

REQUIREMENTS = ROOT / "requirements.txt"
LOCK = ROOT / "requirements.lock"
# Distributions the runtime provides (Lambda's python3.11 image and MiniStack's executor venv).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(text: str) -> dict[str, str]:
    """``name==version`` lines of a requirements file, by canonical name."""
    return {canonical(name): version for name, version in _PIN.findall(text)}


def stale_pins(requirements: str, lock: str) -> list[str]:
    """Pins of requirements.txt that the lock does not hold at the same version."""
    locked = pins(lock)
    return [f"{name}=={version}" for name, version in pins(requirements).items() if locked.get(name) != version]


def check_fresh() -> None:
    if not LOCK.exists():
        raise CliError(f"{LOCK.name} is missing: run `make lock`")
    stale = stale_pins(REQUIREMENTS.read_text(), LOCK.read_text())
    if stale:
        raise CliError(f"{LOCK.name} is older than {REQUIREMENTS.name} ({', '.join(stale)}): run `make lock`")


def compile_command(output: Path = LOCK) -> list[str]:
    """pip-compile, hashes for every file of every pinned release, runtime-provided packages out."""
    unsafe = [arg for name in (*RUNTIME_PROVIDED, "pip", "setuptools") for arg in ("--unsafe-package", name)]
    return [
        venv_bin("pip-compile"),
        "--quiet",
        "--generate-hashes",
        "--strip-extras",
        "--no-allow-unsafe",
        *unsafe,
        "--no-emit-index-url",
        "--no-emit-find-links",
        "--no-emit-trusted-host",
        "--output-file",
        str(output),
        REQUIREMENTS.name,  # relative (run in ROOT): the lock says "via -r requirements.txt", not a path here
    ]


def main() -> int:
    """``make lock``: compile requirements.lock again (existing pins are kept unless requirements.txt
    moved them; ``make lock UPGRADE=1`` passes ``--upgrade``)."""
    command = compile_command()
    if "--upgrade" in sys.argv[1:]:
        command.insert(1, "--upgrade")
    env = {**os.environ, "CUSTOM_COMPILE_COMMAND": "make lock"}  # what the lock's header says to run
    done = subprocess.run(command, cwd=ROOT, env=env, check=False)  # noqa: S603 (the venv's pip-compile)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())

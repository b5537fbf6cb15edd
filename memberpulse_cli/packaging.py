"""``memberpulse package``: the Lambda zip from the hashed lock file, and ``chalice package`` merged
with ``infra/template.json``.

Chalice vendors a project's ``requirements.txt`` with plain ``pip download`` (no hashes) and
whatever botocore it pulls in. Instead, the packages of ``requirements.lock`` are installed with
``--require-hashes`` for Lambda's platform into a ``vendor/`` directory (which Chalice puts in the
zip as it is), and Chalice packages a copy of the project that has no ``requirements.txt``."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .lockfile import LOCK, RUNTIME_PROVIDED, canonical, check_fresh
from .project import INFRA_TEMPLATE, LOCAL, ROOT, CliError, Progress, region, venv_bin

# Lambda's x86_64 python3.11 runtime runs on Amazon Linux 2 (glibc 2.26): manylinux2014 wheels.
LAMBDA_PLATFORM = "manylinux2014_x86_64"
LAMBDA_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"  # chalice picks the runtime from it
PROJECT_FILES = ("app.py", "chalicelib", ".chalice/config.json")
# The installed lock, kept per lock content between packages. Never under a package's --out (the
# local stack packages into .local/build, and a package starts by clearing its --out).
VENDOR_CACHE = LOCAL / "vendor"


@dataclass(frozen=True)
class ZipSize:
    zipped: int
    unzipped: int
    files: int


def zip_size(path: Path) -> ZipSize:
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
    return ZipSize(path.stat().st_size, sum(i.file_size for i in infos), len(infos))


def _run(command: list[str], cwd: Path, what: str) -> None:
    done = subprocess.run(  # noqa: S603 (the venv's own tools, fixed arguments)
        command, cwd=cwd, env={**os.environ, "AWS_DEFAULT_REGION": region()}, capture_output=True, text=True
    )
    if done.returncode != 0:
        detail = [line for line in (done.stderr or done.stdout).strip().splitlines() if "Location" not in line]
        raise CliError(f"{what} failed: " + (detail[-1] if detail else f"exit {done.returncode}"))


def _check_wheels(vendor: Path) -> None:
    """Every installed package is pure Python or a manylinux wheel (none built here for this
    machine), and none is one the runtime provides."""
    for wheel in vendor.glob("*.dist-info/WHEEL"):
        tags = [line.split(":", 1)[1].strip() for line in wheel.read_text().splitlines() if line.startswith("Tag:")]
        if not any(tag.endswith("-any") or "manylinux" in tag for tag in tags):
            raise CliError(f"{wheel.parent.name}: no wheel for Lambda ({LAMBDA_PLATFORM}), only {', '.join(tags)}")
        name = canonical(wheel.parent.name.removesuffix(".dist-info").rsplit("-", 1)[0])
        if name in RUNTIME_PROVIDED:
            raise CliError(f"{wheel.parent.name}: the Lambda runtime provides it; {LOCK.name} must leave it out")


def vendor_packages(progress: Progress) -> Path:
    """The lock's packages installed for Lambda, ``--require-hashes``; kept per lock file content,
    so an unchanged lock is installed once."""
    check_fresh()
    digest = hashlib.sha256(LOCK.read_bytes() + LAMBDA_PYTHON.encode()).hexdigest()[:16]
    vendor = VENDOR_CACHE / f"vendor-{digest}"
    if vendor.is_dir():
        return vendor
    VENDOR_CACHE.mkdir(parents=True, exist_ok=True)
    staging = VENDOR_CACHE / f"{vendor.name}.{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    progress.step(f"pip install --require-hashes -r {LOCK.name} ({LAMBDA_PLATFORM}, Python {LAMBDA_PYTHON})")
    command = [
        *(venv_bin("python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
        *("--require-hashes", "--no-deps", "--prefer-binary", "--no-compile"),
        *("--platform", LAMBDA_PLATFORM, "--implementation", "cp", "--python-version", LAMBDA_PYTHON),
        *("--target", str(staging), "-r", str(LOCK)),
    ]
    try:
        _run(command, ROOT, f"pip install -r {LOCK.name}")
        _check_wheels(staging)
        shutil.rmtree(staging / "bin", ignore_errors=True)  # console scripts: nothing a Lambda runs
        try:
            staging.rename(vendor)
        except OSError:
            if not vendor.is_dir():  # else another package run got there first: the same content
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return vendor


def _project_copy(at: Path, vendor: Path) -> None:
    """What Chalice packages: the app, chalicelib, the config and ``vendor/`` (no requirements.txt).
    Chalice's own cache (``.chalice/deployments``) is kept between runs."""
    at.mkdir(parents=True, exist_ok=True)
    for name in ("app.py", "chalicelib", "vendor", ".chalice/config.json"):
        target = at / name
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.is_dir():
            shutil.rmtree(target)
    copy_project_files(at)
    (at / "vendor").symlink_to(vendor.resolve(), target_is_directory=True)


def copy_project_files(at: Path) -> None:
    """The project's own files as a package ships them: its rule book checked and stamped."""
    for name in PROJECT_FILES:
        source, target = ROOT / name, at / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "rules.checked"))
        else:
            shutil.copy2(source, target)
    check_rules(at / "chalicelib" / "rules.toml")


def check_rules(rules_file: Path) -> None:
    """The rule book a package ships, checked in full — every template compiles and fits its SMS
    limit, every rule module has its section — so a bad rules.toml stops the package here, naming the
    rule and the field. The digest of the bytes that passed goes beside the file (``rules.checked``):
    the functions then check only the structure at start (``chalicelib/domain/rulebook.py``)."""
    from chalicelib.domain.rulebook import CHECKED_NAME, RulesConfigError, parse_rule_book, rules_digest
    from chalicelib.domain.scheduling import check_sections

    text = rules_file.read_text(encoding="utf-8")
    try:
        check_sections(parse_rule_book(text))
    except RulesConfigError as exc:
        raise CliError(f"{rules_file.name}: {exc}") from None
    rules_file.with_name(CHECKED_NAME).write_text(rules_digest(text) + "\n", encoding="utf-8")


def package(stage: str, out: Path, progress: Progress) -> Path:
    """Build ``out/sam.json`` and ``out/deployment.zip``; returns the template path."""
    chalice = venv_bin("chalice")
    if not Path(chalice).exists():
        chalice = shutil.which("chalice") or ""
    if not chalice:
        raise CliError("chalice is not installed in this virtualenv: run `make venv`")
    vendor = vendor_packages(progress)
    if vendor.resolve().is_relative_to(out.resolve()):
        raise CliError(f"--out {out} holds the installed packages ({vendor}): choose another --out")
    project = out.parent / f"{out.name}.project"
    _project_copy(project, vendor)
    if out.exists():
        shutil.rmtree(out)
    progress.step(f"chalice package --stage {stage} (vendor/ from {LOCK.name})")
    command = [chalice, "package", "--stage", stage, "--merge-template", str(INFRA_TEMPLATE), str(out.resolve())]
    _run(command, project, "chalice package")
    size = zip_size(out / "deployment.zip")
    progress.step(
        f"packaged: {out / 'sam.json'}, deployment.zip {size.zipped // 1024} KiB "
        f"({size.unzipped // 1024} KiB unzipped, {size.files} files)"
    )
    return out / "sam.json"

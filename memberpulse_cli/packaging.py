"""``memberpulse package``: ``chalice package`` merged with ``infra/template.json``, then the zip
slimmed of what every Lambda Python runtime already provides (boto3, botocore and their deps):
pynamodb pulls botocore in, and vendoring it would double the zip and the cold start."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

from .project import INFRA_TEMPLATE, ROOT, CliError, Progress, region, venv_bin

# Top-level names the Lambda runtime (and MiniStack's executor venv) already has.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six")


def _provided(name: str) -> bool:
    top = name.split("/", 1)[0]
    if top.endswith(".dist-info"):
        top = top.split("-", 1)[0]
    top = top.removesuffix(".py")
    return top in RUNTIME_PROVIDED or top == "python_dateutil"


def slim_zip(path: Path) -> tuple[int, int]:
    """Rewrite ``path`` without runtime-provided packages; returns (bytes before, bytes after)."""
    before = path.stat().st_size
    slim = path.with_suffix(".slim.zip")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(slim, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if not _provided(info.filename):
                dst.writestr(info, src.read(info.filename))
    slim.replace(path)
    return before, path.stat().st_size


def package(stage: str, out: Path, progress: Progress) -> Path:
    """Build ``out/sam.json`` and ``out/deployment.zip``; returns the template path."""
    chalice = venv_bin("chalice")
    if not Path(chalice).exists():
        chalice = shutil.which("chalice") or ""
    if not chalice:
        raise CliError("chalice is not installed in this virtualenv: run `make venv`")
    if out.exists():
        shutil.rmtree(out)
    env = {**os.environ, "AWS_DEFAULT_REGION": region()}
    progress.step(f"chalice package --stage {stage} (vendoring requirements.txt)")
    done = subprocess.run(  # noqa: S603 (the venv's chalice, fixed arguments)
        [chalice, "package", "--stage", stage, "--merge-template", str(INFRA_TEMPLATE), str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise CliError("chalice package failed: " + (detail[-1] if detail else f"exit {done.returncode}"))
    before, after = slim_zip(out / "deployment.zip")
    progress.step(f"packaged: {out / 'sam.json'}, deployment.zip {before // 1024} KiB → {after // 1024} KiB")
    return out / "sam.json"

"""The Lambda zip `memberpulse package` builds from requirements.lock: its size against Lambda's
limits (50 MiB for a zip uploaded directly, 250 MiB unzipped) and what takes the room."""

from __future__ import annotations

import zipfile
from collections import Counter
from pathlib import Path

from memberpulse_cli.packaging import package, zip_size
from memberpulse_cli.project import LOCAL, Progress

OUT = LOCAL / "build" / "bench-package"
MIB = 1024 * 1024
LAMBDA_ZIP_LIMIT = 50 * MIB
LAMBDA_UNZIPPED_LIMIT = 250 * MIB


def _largest(path: Path, most: int = 6) -> list[tuple[str, int]]:
    by_top: Counter[str] = Counter()
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            by_top[info.filename.split("/", 1)[0]] += info.compress_size
    return by_top.most_common(most)


def run() -> dict[str, float]:
    package("dev", OUT, Progress(quiet=True))
    zipped = OUT / "deployment.zip"
    size = zip_size(zipped)
    print("Lambda package (memberpulse package, from requirements.lock; boto3/botocore left to the runtime)")
    print(
        f"  deployment.zip  {size.zipped / MIB:6.1f} MiB   ÷ 50 MiB zip limit       "
        f"{size.zipped / LAMBDA_ZIP_LIMIT:5.2f}"
    )
    print(
        f"  unzipped        {size.unzipped / MIB:6.1f} MiB   ÷ 250 MiB unzipped limit "
        f"{size.unzipped / LAMBDA_UNZIPPED_LIMIT:5.2f}   ({size.files} files)"
    )
    print("  largest (zipped): " + ", ".join(f"{name} {n / MIB:.1f} MiB" for name, n in _largest(zipped)))
    return {
        "zip_mib": size.zipped / MIB,
        "zip_ratio": size.zipped / LAMBDA_ZIP_LIMIT,
        "unzipped_ratio": size.unzipped / LAMBDA_UNZIPPED_LIMIT,
    }

"""requirements.lock: what the Lambda zip is installed from (--require-hashes), kept in step with
requirements.txt; and the wheels the package accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from memberpulse_cli.lockfile import LOCK, REQUIREMENTS, RUNTIME_PROVIDED, canonical, pins, stale_pins
from memberpulse_cli.packaging import _check_wheels
from memberpulse_cli.project import CliError


def _entries(lock: str) -> dict[str, str]:
    """Each pinned requirement of the lock → its whole entry (pin, hashes, annotations)."""
    return {
        canonical(m.group(1)): m.group(0)
        for m in re.finditer(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==\S+(?: \\\n(?:\s+--hash=\S+(?: \\)?\n?)+)?", lock, re.M)
    }


def test_the_lock_holds_every_pin_of_requirements_txt_at_its_version() -> None:
    assert stale_pins(REQUIREMENTS.read_text(), LOCK.read_text()) == []


def test_every_locked_package_has_its_hashes_and_the_runtime_packages_are_left_out() -> None:
    lock = LOCK.read_text()
    entries = _entries(lock)

    assert set(entries) == set(pins(lock)) and len(entries) > 10
    for name, entry in entries.items():
        assert "--hash=sha256:" in entry, f"{name} has no hash"
    assert not set(entries) & set(RUNTIME_PROVIDED)


def test_phone_numbers_come_from_the_lite_package() -> None:
    required = pins(REQUIREMENTS.read_text())
    assert "phonenumberslite" in required and "phonenumbers" not in required


def test_a_pin_moved_in_requirements_txt_makes_the_lock_stale() -> None:
    lock = "pynamodb==6.1.0 \\\n    --hash=sha256:00\ntwilio==9.13.0 \\\n    --hash=sha256:11\n"

    assert stale_pins("pynamodb==6.1.0\ntwilio==9.14.0\n", lock) == ["twilio==9.14.0"]
    assert stale_pins("PynamoDB==6.1.0\n# a comment\n", lock) == []
    assert stale_pins("python-liquid==2.3.6\n", lock) == ["python-liquid==2.3.6"]


def _wheel(vendor: Path, dist: str, *tags: str) -> None:
    info = vendor / f"{dist}.dist-info"
    info.mkdir(parents=True)
    (info / "WHEEL").write_text("Wheel-Version: 1.0\n" + "".join(f"Tag: {t}\n" for t in tags))


def test_pure_python_and_manylinux_wheels_are_accepted(tmp_path: Path) -> None:
    _wheel(tmp_path, "pynamodb-6.1.0", "py3-none-any")
    _wheel(tmp_path, "cryptography-50.0.2", "cp311-abi3-manylinux_2_17_x86_64", "cp311-abi3-manylinux2014_x86_64")

    _check_wheels(tmp_path)


def test_a_package_built_for_this_machine_is_refused(tmp_path: Path) -> None:
    _wheel(tmp_path, "fastthing-1.0", "cp311-cp311-linux_x86_64")

    with pytest.raises(CliError, match=r"fastthing-1\.0\.dist-info: no wheel for Lambda"):
        _check_wheels(tmp_path)


def test_a_package_the_runtime_provides_is_refused(tmp_path: Path) -> None:
    _wheel(tmp_path, "botocore-1.44.5", "py3-none-any")

    with pytest.raises(CliError, match="the Lambda runtime provides it"):
        _check_wheels(tmp_path)


def test_the_installed_packages_are_never_under_a_packages_out() -> None:
    """A package starts by clearing its --out; the local stack packages into <state>/build (and
    `deploy` into .local/build/<stage>): the installed lock must live elsewhere, or the zip the
    default `make up` / `make demo` deploys goes out without its dependencies."""
    from memberpulse_cli.packaging import VENDOR_CACHE
    from memberpulse_cli.project import LOCAL

    for out in (LOCAL / "build", LOCAL / "build" / "dev", LOCAL / "build" / "package"):
        assert not VENDOR_CACHE.resolve().is_relative_to(out.resolve()), out
        assert not out.resolve().is_relative_to(VENDOR_CACHE.resolve()), out

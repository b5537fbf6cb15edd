"""Unit tests are pure: the network is off for every test in this directory (pytest-socket)."""

from __future__ import annotations

from pytest_socket import disable_socket


def pytest_runtest_setup() -> None:
    # pytest-socket's own teardown hook restores the socket module after each test.
    disable_socket()

"""When the garbage collector runs in a function: not while it loads (in Lambda), not inside a send
batch; and it is always given back."""

from __future__ import annotations

import gc

import pytest

from chalicelib.handlers import collector
from chalicelib.handlers.collector import no_collection_pauses


def test_no_automatic_collection_inside_a_batch_and_start_up_frozen_after_the_first() -> None:
    assert gc.isenabled()
    with no_collection_pauses():
        assert not gc.isenabled()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0  # what start-up loaded is out of later full collections
    with no_collection_pauses():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_failing_batch_still_gives_the_collector_back() -> None:
    try:
        with no_collection_pauses():
            raise RuntimeError("the batch failed")
    except RuntimeError:
        pass
    assert gc.isenabled()


def test_a_lambda_function_loads_without_collections_until_its_first_event_is_handled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.12")
    collector.hold_while_loading()
    try:
        assert not gc.isenabled()
        collector.after_an_event()
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
        collector.after_an_event()  # later events change nothing
        assert gc.isenabled()
    finally:
        gc.enable()


def test_tests_and_the_cli_keep_the_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_EXECUTION_ENV", raising=False)
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    collector.hold_while_loading()
    assert gc.isenabled()

"""Counting our own AWS requests, for the benchmarks (``MEMBERPULSE_COUNT_AWS_CALLS=1``).

botocore ``before-parameter-build`` hooks (once per API call) on every session our code's clients
come from: boto3's default session (SQS, Secrets Manager, …) and the sessions PynamoDB opens. After
each invocation the counts go to one item of the counters table (``calls#<function>#<uuid>``, a
single write the counter itself does not count), which the benchmark sums. Requests to the sandbox
provider's outbox table are named apart (``… [sandbox outbox]``): they stand for the provider's
own storage, which a real provider keeps on its side. Off by default: nothing is installed.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

COUNTS: Counter[str] = Counter()
_installed = False


SANDBOX_OUTBOX = " [sandbox outbox]"


def _count(**kwargs: Any) -> None:
    model = kwargs["model"]
    name = f"{model.service_model.service_name}.{model.name}"
    table = (kwargs.get("params") or {}).get("TableName")
    if table is not None and table == _outbox_table():
        name += SANDBOX_OUTBOX
    COUNTS[name] += 1


def _outbox_table() -> str:
    from ..settings import get_settings

    return get_settings().outbox_table


def install() -> None:
    global _installed
    if _installed:
        return
    import boto3
    import pynamodb.connection.base as pynamodb_base

    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION._session.register("before-parameter-build", _count)
    original = getattr(pynamodb_base, "get_session")  # noqa: B009 - not re-exported, but it is what PynamoDB calls

    def counted_session() -> Any:
        session = original()
        session.register("before-parameter-build", _count)
        return session

    setattr(pynamodb_base, "get_session", counted_session)  # noqa: B010
    _installed = True


def flush(function: str) -> None:
    """Store this invocation's counts and start again from zero."""
    if not COUNTS:
        return
    from .models import CounterModel

    counts = dict(COUNTS)
    COUNTS.clear()
    item = CounterModel(f"calls#{function}#{uuid.uuid4().hex}")
    item.bookings = [[name, n] for name, n in sorted(counts.items())]
    item.save()
    COUNTS.clear()  # the save above is the counter's own write

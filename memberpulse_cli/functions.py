"""Invoking deployed functions directly, as their event sources would."""

from __future__ import annotations

import json
import uuid
from typing import Any

from .aws import Aws, explained
from .project import CliError


def invoke(target: dict[str, Any], handler: str, payload: dict[str, Any]) -> Any:
    functions = target.get("functions", {})
    if handler not in functions:
        raise CliError(f"no function {handler!r}; deployed: {', '.join(sorted(functions))}")
    client = Aws(target.get("endpoint_url"), target.get("region")).client("lambda")

    def call() -> Any:
        resp = client.invoke(FunctionName=functions[handler], Payload=json.dumps(payload).encode())
        body = resp["Payload"].read()
        if resp.get("FunctionError"):
            raise CliError(f"{handler} failed: {body.decode(errors='replace')[:500]}")
        return json.loads(body) if body else None

    return explained(call, target.get("endpoint_url"))


def scheduled_event(at: str, region: str) -> dict[str, Any]:
    """An EventBridge scheduled event as Lambda receives it, with ``time`` = ``at``."""
    from chalicelib.domain.isotime import parse_iso, to_iso

    try:
        when = to_iso(parse_iso(at))
    except ValueError:
        raise CliError(f"--at {at!r}: give an ISO 8601 time with a zone, e.g. 2026-11-22T02:00:00Z") from None
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": when,
        "region": region,
        "resources": [f"arn:aws:events:{region}:000000000000:rule/memberpulse-schedule"],
        "detail": {},
    }

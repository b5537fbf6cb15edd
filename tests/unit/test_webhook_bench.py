"""The webhook bench's requests stay valid: every builder's request is accepted by its adapter (no
WebhookRejected) and yields the events the bench divides by, so the bench never quietly times
rejections. Network-free: SDK clients are stand-ins and the SNS certificate comes from memory."""

from __future__ import annotations

import pytest

# urllib3 (under the SDKs) probes for IPv6 by opening a socket at import time, without traffic:
# import the adapters while collecting, before pytest-socket switches sockets off for each test.
import chalicelib.adapters.providers.aliyun
import chalicelib.adapters.providers.aws_sms
import chalicelib.adapters.providers.tencent
import chalicelib.adapters.providers.twilio  # noqa: F401
from bench.webhook_bench import BUILDERS, NOW, Case
from chalicelib.domain.inbound import InboundKind


@pytest.mark.parametrize("provider", sorted(BUILDERS))
def test_each_bench_request_is_accepted_with_its_events(provider: str) -> None:
    cases = BUILDERS[provider]()
    assert cases
    for case in cases:
        result = case.adapter.handle_webhook(case.request, NOW)
        assert result.answer.status == 200, (case.provider, case.payload)
        assert len(result.events) == case.events >= 1, (case.provider, case.payload)
        assert all(event.provider == provider for event in result.events)


def test_payloads_are_what_they_say() -> None:
    cases: list[Case] = [case for build in BUILDERS.values() for case in build()]
    kinds = {
        "receipts": InboundKind.RECEIPT,
        "receipt": InboundKind.RECEIPT,
        "reply": InboundKind.REPLY,
        "notify": InboundKind.FETCH,
    }
    for case in cases:
        events = case.adapter.handle_webhook(case.request, NOW).events
        assert {event.kind for event in events} == {kinds[case.payload]}, (case.provider, case.payload)
    assert {(c.provider, c.payload) for c in cases if c.provider == "sandbox"} == {
        ("sandbox", "receipts"),
        ("sandbox", "receipt"),
        ("sandbox", "reply"),
    }  # every payload's baseline exists

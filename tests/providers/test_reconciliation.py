"""Reconciliation against the stub servers of the providers that have a status query: a message
sent through the real adapter (no receipt in its answer, none by webhook) stays ``sent`` until the
reconciler asks the provider (Alibaba ``QuerySendDetails``, Tencent ``PullSmsSendStatusByPhoneNumber``,
Twilio's message fetch) and records what it reports, in the message's trail."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.model import Channel, MessageStatus
from chalicelib.domain.planning import plan_message
from chalicelib.domain.triggers import Trigger
from chalicelib.ports import SendResult
from tests.fakes import FakeAdapters, fake_app, member, rule_book
from tests.providers.test_contract import NOW, Harness, harnesses  # noqa: F401  (the stub servers)
from tests.zones import daytime_zone

QUERYING = ["aliyun", "tencent", "twilio"]


@pytest.mark.parametrize("name", QUERYING)
def test_reconciliation_applies_the_status_the_provider_reports(name: str, harnesses: dict[str, Harness]) -> None:  # noqa: F811
    harness = harnesses[name]
    adapter = harness.build()
    assert adapter.can_query_status and adapter.gives_receipts
    fakes = FakeAdapters(providers={name: adapter})
    app = fake_app(fakes, rule_book(), sms_provider=name, im_provider=name)
    someone = member(f"m-{name}", phone=harness.message().to, im_user_id=None, timezone=daytime_zone(NOW))
    fakes.members.save(someone)
    message = plan_message(
        someone, Trigger("welcome", someone.member_id, "join", NOW), app.policy, {Channel.SMS: name}, NOW
    )
    assert fakes.messages.create(message)
    # Sent: the provider accepted it and gave no receipt in its answer
    assert app.sender.deliver(message.message_id, NOW) is MessageStatus.SENT
    stored = fakes.messages.get(message.message_id)
    assert stored is not None and stored.status is MessageStatus.SENT and stored.provider_message_id

    # 20 minutes on, the provider is asked: it knows no more yet
    assert app.reconciler.run(NOW + timedelta(minutes=20)) == {"looked_at": 1, "queried": 1, "still_waiting": 1}
    # The provider delivers it (its receipt to us is lost); the next question learns it
    harness.deliver(SendResult(stored.provider_message_id, stored.parts or 1))
    assert app.reconciler.run(NOW + timedelta(minutes=40)) == {"looked_at": 1, "queried": 1, "applied_delivered": 1}
    done = fakes.messages.get(message.message_id)
    assert done is not None and done.status is MessageStatus.DELIVERED and done.delivered_at is not None
    assert [h.status for h in done.history] == [MessageStatus.QUEUED, MessageStatus.SENT, MessageStatus.DELIVERED]
    assert app.reconciler.run(NOW + timedelta(hours=30)) == {}  # no longer awaited

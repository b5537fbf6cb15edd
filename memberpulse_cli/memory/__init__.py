"""In-memory adapters: every port of ``chalicelib.bootstrap.Adapters``, keeping the promises of the
DynamoDB/SQS adapters (the same contract tests run against both: ``tests/integration/contract``).

``MemoryAdapters()`` passed to ``chalicelib.bootstrap.bootstrap`` gives the real services over
memory: ``memberpulse simulate`` runs the engine, the timers and the sender this way, with the
sandbox provider recording into an in-memory outbox (a dry run: nothing leaves the process). The
test doubles of ``tests/fakes.py`` build on these, adding failure injection."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.providers.sandbox import SandboxProvider
from chalicelib.ports import Provider

from .activities import MemoryActivityStore
from .campaigns import MemoryCampaignQueue, MemoryCampaignStore, MemoryPollBox, MemorySegmentStore, MemoryTallies
from .catalog import MemoryCatalog, MemoryProductStore
from .inbound import (
    MemoryApiKeyStore,
    MemoryConversationLog,
    MemoryCursors,
    MemoryFollowUp,
    MemoryHandoffStore,
    MemoryInboundQueue,
    MemoryInboundStore,
    MemoryLinkStore,
    MemoryStaffNotifier,
)
from .member_data import MemoryActivityLog, MemoryErasureQueue
from .members import MemoryAudienceStore, MemoryMemberDirectory, MemoryMemberStore
from .message_log import MemoryMessageLog
from .messages import MemoryMessageIndex, MemoryMessageStore
from .sending import MemoryOutbox, MemorySendGate, MemorySendQueue, MemorySendRetries
from .timers import MemoryTimerQueue, MemoryTimerStore

__all__ = [
    "MemoryActivityLog",
    "MemoryActivityStore",
    "MemoryAdapters",
    "MemoryApiKeyStore",
    "MemoryAudienceStore",
    "MemoryCampaignQueue",
    "MemoryCampaignStore",
    "MemoryCatalog",
    "MemoryConversationLog",
    "MemoryCursors",
    "MemoryErasureQueue",
    "MemoryFollowUp",
    "MemoryHandoffStore",
    "MemoryInboundQueue",
    "MemoryInboundStore",
    "MemoryLinkStore",
    "MemoryMemberDirectory",
    "MemoryMemberStore",
    "MemoryMessageIndex",
    "MemoryMessageLog",
    "MemoryMessageStore",
    "MemoryOutbox",
    "MemoryPollBox",
    "MemoryProductStore",
    "MemorySegmentStore",
    "MemorySendGate",
    "MemorySendQueue",
    "MemorySendRetries",
    "MemoryStaffNotifier",
    "MemoryTallies",
    "MemoryTimerQueue",
    "MemoryTimerStore",
]


class MemoryAdapters:
    """Every port in memory. ``providers``: by name (default: the sandbox provider over an
    in-memory outbox, ``self.outbox``, signing China SMS as ``sign_name``, the store's name, as
    ``AwsAdapters`` does); ``secrets``: the stage's secrets (default none)."""

    def __init__(
        self,
        providers: Mapping[str, Any] | None = None,
        secrets: Mapping[str, str] | None = None,
        sign_name: str = "",
    ) -> None:
        self.members = MemoryMemberStore()
        self.products = MemoryProductStore()
        self.catalog = MemoryCatalog(self.products)
        self.messages = MemoryMessageStore(self.members)
        self.message_log = MemoryMessageLog(self.messages)
        self.api_keys = MemoryApiKeyStore()
        self.timers = MemoryTimerStore()
        self.timer_queue = MemoryTimerQueue()
        self.audience = MemoryAudienceStore()
        self.send_queue = MemorySendQueue()
        self.send_retries = MemorySendRetries()
        self.send_gate = MemorySendGate(self.messages)
        self.outbox = MemoryOutbox()
        sandbox: Provider = SandboxProvider(self.outbox, sign_name=sign_name)
        self.providers: Mapping[str, Provider] = providers if providers is not None else {"sandbox": sandbox}
        self.inbound_log = MemoryInboundStore()
        self.directory = MemoryMemberDirectory(self.members)
        self.message_index = MemoryMessageIndex(self.messages)
        self.conversations = MemoryConversationLog()
        self.handoffs = MemoryHandoffStore()
        self.links = MemoryLinkStore(self.messages)
        self.cursors = MemoryCursors()
        self.inbound_queue = MemoryInboundQueue()
        self.staff = MemoryStaffNotifier()
        self.follow_up = MemoryFollowUp()
        self.activity = MemoryActivityLog(self.members, self.conversations)
        self.erasure_queue = MemoryErasureQueue()
        self.segments = MemorySegmentStore()
        self.campaigns = MemoryCampaignStore()
        self.polls = MemoryPollBox()
        self.tallies = MemoryTallies()
        self.campaign_queue = MemoryCampaignQueue()
        self.attendance = self.members
        self.activities = MemoryActivityStore()
        self.secret_values: dict[str, str] = dict(secrets or {})

    def secrets(self) -> Mapping[str, str]:
        return dict(self.secret_values)


if TYPE_CHECKING:
    from chalicelib.bootstrap import Adapters

    def _every_port(adapters: MemoryAdapters) -> Adapters:
        """For mypy: ``MemoryAdapters`` has every port of ``bootstrap.Adapters``, each typed as its port."""
        return adapters

"""The composition root: the one place that wires adapters into services (cosmicpython's
``bootstrap``). Typed end to end: handlers get services, services get ports.

``bootstrap(settings, adapters)`` builds an :class:`App`; by default the real adapters
(:class:`AwsAdapters`: DynamoDB, SQS, SNS, Secrets Manager, the providers), in ``memberpulse
simulate`` the in-memory ones (``memberpulse_cli/memory`` ``MemoryAdapters``), in tests fakes
(``tests/fakes.py`` ``FakeAdapters``, built on those) passed the same way — no getter is ever patched. Everything
is built on first use and kept for the life of the Lambda container, so each function pays only
for what its own handler needs (the API never imports a provider SDK; the sender never imports
phonenumbers). Handlers call :func:`app`; tests install theirs with :func:`use`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from .domain.model import Channel
from .settings import Settings, get_settings

if TYPE_CHECKING:
    from .domain.action_links import ActionLinks
    from .domain.activity_words import ActivityWords
    from .domain.eligibility import Policy
    from .domain.keywords import KeywordBook
    from .domain.rulebook import RuleBook
    from .ports import (
        ActivityLog,
        ActivityStore,
        ApiKeyStore,
        Attendance,
        AudienceStore,
        CampaignQueue,
        CampaignStore,
        Catalog,
        ConversationLog,
        Cursors,
        ErasureQueue,
        FollowUp,
        HandoffStore,
        InboundQueue,
        InboundStore,
        LinkStore,
        MemberDirectory,
        MemberStore,
        MessageIndex,
        MessageLog,
        MessageStore,
        Outbox,
        PollBox,
        ProductStore,
        Provider,
        SegmentStore,
        SendGate,
        SendQueue,
        SendRetries,
        StaffNotifier,
        Tallies,
        TimerQueue,
        TimerStore,
    )
    from .services.activities import ActivityService
    from .services.attribution import Attribution
    from .services.campaign_planner import CampaignPlanner
    from .services.campaign_replies import CampaignReplies
    from .services.campaigns import CampaignService
    from .services.clicks import ClickTracker
    from .services.consent import ConsentService
    from .services.engine import RuleEngine
    from .services.erasure import ErasureService
    from .services.funnel import FunnelReport
    from .services.handoff_desk import HandoffDesk
    from .services.inbound import InboundService
    from .services.lifecycle import LifecycleService
    from .services.member_data import MemberData
    from .services.member_facts import MemberFacts
    from .services.member_search import MemberSearch
    from .services.members import MemberService
    from .services.message_log import MessageLogService
    from .services.receipts import Receipts
    from .services.reconciler import Reconciler
    from .services.registrations import RegistrationService
    from .services.segments import SegmentService
    from .services.sending import SendService
    from .services.tallies import TallyService
    from .services.timers import TimerService

Log = Callable[..., None]


class Adapters(Protocol):
    """Every outside port the services use, by name (``chalicelib/ports.py`` declares them)."""

    @property
    def members(self) -> MemberStore: ...
    @property
    def products(self) -> ProductStore: ...
    @property
    def messages(self) -> MessageStore: ...
    @property
    def message_log(self) -> MessageLog: ...
    @property
    def api_keys(self) -> ApiKeyStore: ...
    @property
    def timers(self) -> TimerStore: ...
    @property
    def timer_queue(self) -> TimerQueue: ...
    @property
    def audience(self) -> AudienceStore: ...
    @property
    def catalog(self) -> Catalog: ...
    @property
    def send_queue(self) -> SendQueue: ...
    @property
    def send_retries(self) -> SendRetries: ...
    @property
    def send_gate(self) -> SendGate: ...
    @property
    def providers(self) -> Mapping[str, Provider]: ...
    @property
    def inbound_log(self) -> InboundStore: ...
    @property
    def directory(self) -> MemberDirectory: ...
    @property
    def message_index(self) -> MessageIndex: ...
    @property
    def conversations(self) -> ConversationLog: ...
    @property
    def handoffs(self) -> HandoffStore: ...
    @property
    def links(self) -> LinkStore: ...
    @property
    def cursors(self) -> Cursors: ...
    @property
    def inbound_queue(self) -> InboundQueue: ...
    @property
    def staff(self) -> StaffNotifier: ...
    @property
    def follow_up(self) -> FollowUp: ...
    @property
    def activity(self) -> ActivityLog: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def erasure_queue(self) -> ErasureQueue: ...
    @property
    def segments(self) -> SegmentStore: ...
    @property
    def campaigns(self) -> CampaignStore: ...
    @property
    def polls(self) -> PollBox: ...
    @property
    def tallies(self) -> Tallies: ...
    @property
    def campaign_queue(self) -> CampaignQueue: ...
    @property
    def attendance(self) -> Attendance: ...
    @property
    def activities(self) -> ActivityStore: ...

    def secrets(self) -> Mapping[str, str]:
        """The stage's secrets (webhook tokens, provider keys), current within the cache window."""


class AwsAdapters:
    """The real adapters, each built on first use."""

    def __init__(self, settings: Settings, store_name: Callable[[], str] | None = None) -> None:
        self.settings = settings
        # The store's name (rules.toml), which China's SMS platforms sign messages with: the sandbox counts it too.
        self.store_name = store_name or (lambda: "")

    def _client(self, service: str) -> Any:
        return aws_client(service)

    @cached_property
    def members(self) -> MemberStore:
        from .adapters.member_store import DynamoMemberStore

        return DynamoMemberStore()

    @cached_property
    def products(self) -> ProductStore:
        from .adapters.product_store import DynamoProductStore

        return DynamoProductStore()

    @cached_property
    def messages(self) -> MessageStore:
        from .adapters.message_store import DynamoMessageStore

        return DynamoMessageStore()

    @cached_property
    def message_log(self) -> MessageLog:
        from .adapters.message_log import DynamoMessageLog

        return DynamoMessageLog()

    @cached_property
    def api_keys(self) -> ApiKeyStore:
        from .adapters.api_key_store import DynamoApiKeyStore

        return DynamoApiKeyStore()

    @cached_property
    def timers(self) -> TimerStore:
        from .adapters.timer_store import DynamoTimerStore

        return DynamoTimerStore()

    @cached_property
    def timer_queue(self) -> TimerQueue:
        from .adapters.timer_queue import SqsTimerQueue

        return SqsTimerQueue(self._client("sqs"), self.settings.timer_queue_url)

    @cached_property
    def audience(self) -> AudienceStore:
        from .adapters.audience_store import DynamoAudienceStore

        return DynamoAudienceStore()

    @cached_property
    def catalog(self) -> Catalog:
        from .adapters.catalog import DynamoCatalog

        return DynamoCatalog()

    @cached_property
    def send_queue(self) -> SendQueue:
        from .adapters.send_queue import SqsSendQueue

        return SqsSendQueue(self._client("sqs"), self.settings.send_queue_url)

    @cached_property
    def send_retries(self) -> SendRetries:
        from .adapters.send_retries import SqsRetries

        return SqsRetries(self._client("sqs"), self.settings.send_queue_url)

    @cached_property
    def send_gate(self) -> SendGate:
        from .adapters.providers.registry import schedule_margins
        from .adapters.send_gate import DynamoSendGate
        from .settings import parse_rates

        rates = parse_rates(self.settings.send_rates)
        return DynamoSendGate(rates, schedule_margins(rates))

    @cached_property
    def providers(self) -> Mapping[str, Provider]:
        """Every provider by name, each built on first use from the stage's secrets."""
        from .adapters.providers.registry import ProviderRegistry
        from .adapters.providers.sandbox import FaultPlan, SandboxProvider

        s = self.settings
        sandbox = SandboxProvider(self.outbox, FaultPlan.parse(s.sandbox_faults), sign_name=self.store_name())

        def overrides(secrets: Mapping[str, str]) -> dict[str, dict[str, Any]]:
            token = secrets.get("webhook_token_twilio")
            if not (s.public_api_url and token):
                return {}
            # Twilio signs the exact public URL it calls.
            return {"twilio": {"public_webhook_url": f"{s.public_api_url.rstrip('/')}/webhooks/twilio/{token}"}}

        return ProviderRegistry(self.secrets, {"sandbox": sandbox}, overrides)

    @cached_property
    def outbox(self) -> Outbox:
        from .adapters.outbox import DynamoOutbox

        return DynamoOutbox()

    @cached_property
    def activity(self) -> ActivityLog:
        from .adapters.activity_log import DynamoActivityLog

        return DynamoActivityLog()

    @cached_property
    def erasure_queue(self) -> ErasureQueue:
        from .adapters.erasure_queue import SqsErasureQueue

        return SqsErasureQueue(self._client("sqs"), self.settings.erasure_queue_url)

    @cached_property
    def inbound_log(self) -> InboundStore:
        from .adapters.inbound_log import DynamoInboundStore

        return DynamoInboundStore()

    @cached_property
    def directory(self) -> MemberDirectory:
        from .adapters.member_directory import DynamoMemberDirectory

        return DynamoMemberDirectory()

    @cached_property
    def message_index(self) -> MessageIndex:
        from .adapters.message_index import DynamoMessageIndex

        return DynamoMessageIndex()

    @cached_property
    def conversations(self) -> ConversationLog:
        from .adapters.conversation_log import DynamoConversationLog

        return DynamoConversationLog()

    @cached_property
    def handoffs(self) -> HandoffStore:
        from .adapters.handoff_store import DynamoHandoffStore

        return DynamoHandoffStore()

    @cached_property
    def links(self) -> LinkStore:
        from .adapters.link_store import DynamoLinkStore

        return DynamoLinkStore()

    @cached_property
    def cursors(self) -> Cursors:
        from .adapters.cursors import DynamoCursors

        return DynamoCursors()

    @cached_property
    def inbound_queue(self) -> InboundQueue:
        from .adapters.inbound_queue import SqsInboundQueue

        return SqsInboundQueue(self._client("sqs"), self.settings.inbound_queue_url)

    @cached_property
    def staff(self) -> StaffNotifier:
        from .adapters.staff_notifier import SnsStaffNotifier

        return SnsStaffNotifier(self._client("sns"), self.settings.staff_topic_arn)

    @cached_property
    def follow_up(self) -> FollowUp:
        from .adapters.follow_up import HttpFollowUp

        return HttpFollowUp(timeout=3.0)

    @cached_property
    def activities(self) -> ActivityStore:
        from .adapters.activity_store import DynamoActivityStore

        return DynamoActivityStore()

    @cached_property
    def segments(self) -> SegmentStore:
        from .adapters.segment_store import DynamoSegmentStore

        return DynamoSegmentStore()

    @cached_property
    def campaigns(self) -> CampaignStore:
        from .adapters.campaign_store import DynamoCampaignStore

        return DynamoCampaignStore()

    @cached_property
    def polls(self) -> PollBox:
        from .adapters.poll_box import DynamoPollBox

        return DynamoPollBox()

    @cached_property
    def tallies(self) -> Tallies:
        from .adapters.tally_store import DynamoTallies

        return DynamoTallies()

    @cached_property
    def campaign_queue(self) -> CampaignQueue:
        from .adapters.campaign_queue import SqsCampaignQueue

        return SqsCampaignQueue(self._client("sqs"), self.settings.campaign_queue_url)

    @cached_property
    def attendance(self) -> Attendance:
        from .adapters.member_store import DynamoMemberStore

        return DynamoMemberStore()

    def secrets(self) -> Mapping[str, str]:
        """Webhook path tokens and provider secrets: Secrets Manager (cached by Powertools for 5 minutes)."""
        if not self.settings.secrets_id:
            return {}
        from aws_lambda_powertools.utilities.parameters import get_secret

        value = get_secret(self.settings.secrets_id, transform="json", max_age=300)
        return dict(value) if isinstance(value, dict) else {}


class App:
    """The services, wired, each built on first use."""

    def __init__(
        self,
        adapters: Adapters,
        settings: Settings,
        book: RuleBook | None = None,
        log: Log | None = None,
        wall: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        """``wall`` and ``sleep``: the sender's real-time clock for its rate slots (default the
        process's; a simulation passes its own, where waiting moves the simulated clock)."""
        self.adapters = adapters
        self.settings = settings
        self._book = book
        self._log = log
        self._wall = wall
        self._sleep = sleep

    @cached_property
    def book(self) -> RuleBook:
        if self._book is not None:
            return self._book
        from .domain.rulebook import checked_at_package, load_rule_book

        book = load_rule_book()
        if not checked_at_package():  # else `memberpulse package` checked every rule module's section too
            from .domain.scheduling import check_sections

            check_sections(book)
        return book

    @cached_property
    def log(self) -> Log:
        if self._log is not None:
            return self._log
        from .observability import log_event

        return log_event

    @cached_property
    def policy(self) -> Policy:
        from .domain.eligibility import Policy

        return Policy(self.book, self.settings.store_timezone)

    @property
    def channel_providers(self) -> dict[Channel, str]:
        return {Channel.SMS: self.settings.sms_provider, Channel.IM: self.settings.im_provider}

    @cached_property
    def keywords(self) -> KeywordBook:
        from .domain.keywords import load_keywords

        return load_keywords()

    @cached_property
    def members(self) -> MemberService:
        from .services.members import MemberService

        a = self.adapters
        return MemberService(a.members, a.products, a.messages, self.settings.default_phone_region)

    @cached_property
    def member_data(self) -> MemberData:
        from .services.member_data import MemberData

        a = self.adapters
        return MemberData(a.members, a.messages, a.activity, a.handoffs, a.timers, a.campaigns, a.polls, a.activities)

    @cached_property
    def erasure(self) -> ErasureService:
        from .services.erasure import ErasureService

        a = self.adapters
        return ErasureService(
            members=a.members,
            messages=a.messages,
            activity=a.activity,
            timers=a.timers,
            audience=a.audience,
            handoffs=a.handoffs,
            links=a.links,
            inbound=a.inbound_log,
            outbox=a.outbox,
            campaigns=a.campaigns,
            polls=a.polls,
            activities=a.activities,
            places=self.registrations,
            queue=a.erasure_queue,
            log=self.log,
        )

    @cached_property
    def message_log(self) -> MessageLogService:
        from .services.message_log import MessageLogService

        a = self.adapters
        return MessageLogService(a.message_log, a.directory, self.settings.store_timezone)

    @cached_property
    def handoff_desk(self) -> HandoffDesk:
        from .services.handoff_desk import HandoffDesk

        return HandoffDesk(self.adapters.handoffs, self.adapters.directory)

    @cached_property
    def member_search(self) -> MemberSearch:
        from .services.member_search import MemberSearch

        a = self.adapters
        return MemberSearch(a.directory, a.members, self.settings.default_phone_region)

    @cached_property
    def clicks(self) -> ClickTracker:
        """Links in messages → signed ``{PUBLIC_API_URL}/r/{token}``; off without a public URL or key."""
        from .services.clicks import ClickTracker

        s = self.settings
        secret = self.adapters.secrets().get("click_signing_key", "") if s.public_api_url else ""
        return ClickTracker(self.adapters.links, secret, s.public_api_url, self.log)

    @cached_property
    def action_links(self) -> ActionLinks | None:
        """Signed register/cancel/claim links in activity messages: with a public URL and the
        stage's ``activity_link_key``; None (messages say the reply words only) otherwise."""
        from .domain.action_links import ActionLinks

        s = self.settings
        if not s.public_api_url:
            return None
        links = ActionLinks(s.public_api_url, self.adapters.secrets().get("activity_link_key", ""))
        return links if links.enabled else None

    @cached_property
    def activity_words(self) -> ActivityWords:
        from .domain.activity_words import load_activity_words

        return load_activity_words()

    @cached_property
    def registrations(self) -> RegistrationService:
        from .services.registrations import RegistrationService

        a = self.adapters
        return RegistrationService(a.activities, a.members, self.log, attendance=a.attendance)

    @cached_property
    def activities(self) -> ActivityService:
        from .services.activities import ActivityService

        return ActivityService(self.adapters.activities, self.registrations, self.log)

    @cached_property
    def lifecycle(self) -> LifecycleService:
        from .services.lifecycle import LifecycleService

        a = self.adapters
        links = self.clicks if self.settings.public_api_url and self.clicks.enabled else None
        return LifecycleService(
            self.policy,
            a.members,
            a.messages,
            a.send_queue,
            self.channel_providers,
            a.timers,
            log=self.log,
            links=links,
        )

    @cached_property
    def timers(self) -> TimerService:
        from .services.timers import TimerService

        a = self.adapters
        return TimerService(
            self.book,
            a.timers,
            a.members,
            a.catalog,
            a.timer_queue,
            self.lifecycle,
            self.settings.store_timezone,
            self.log,
            activities=self.registrations,
            links=self.action_links,
        )

    @cached_property
    def engine(self) -> RuleEngine:
        from .services.engine import RuleEngine

        a = self.adapters
        return RuleEngine(
            self.book,
            a.members,
            self.lifecycle,
            self.timers,
            a.catalog,
            a.audience,
            self.settings.store_timezone,
            self.log,
            activities=a.activities,
            links=self.action_links,
        )

    @cached_property
    def consent(self) -> ConsentService:
        from .services.consent import ConsentService

        return ConsentService(self.adapters.members, self.log)

    @cached_property
    def receipts(self) -> Receipts:
        from .services.receipts import Receipts

        return Receipts(self.adapters.messages)

    @cached_property
    def reconciler(self) -> Reconciler:
        from .domain.reconciliation import parse_windows
        from .services.reconciler import Reconciler

        a = self.adapters
        windows = parse_windows(self.settings.receipt_windows)
        return Reconciler(a.messages, a.members, a.providers, self.receipts, windows, self.log)

    @cached_property
    def sender(self) -> SendService:
        from .services.sending import SendService

        a = self.adapters
        s = self.settings
        return SendService(
            self.policy,
            a.members,
            a.messages,
            a.providers,
            a.send_gate,
            self.lifecycle,
            self.receipts,
            self.consent,
            log=self.log,
            claim_ttl=s.send_claim_ttl,
            max_receives=s.send_max_receives,
            wall=self._wall or time.time,
            sleep=self._sleep or time.sleep,
        )

    @cached_property
    def inbound(self) -> InboundService:
        from .domain.keywords import classify
        from .services.inbound import InboundService
        from .services.replies.activities import CancelPlaceReply, ClaimOfferReply, FeedbackReply, SignUpReply
        from .services.replies.campaigns import CampaignKeywordReply, PollVoteReply
        from .services.replies.contexts import OpenContexts

        a = self.adapters
        words, zone = self.activity_words, self.settings.store_timezone
        contexts = OpenContexts(self.registrations, self.campaign_replies)  # read once per reply, shared
        # CONTRACT §7's order within a stage: an offer to claim, feedback asked for, a poll; then
        # campaign keywords before activity keywords.
        activity_replies = [
            ClaimOfferReply(self.registrations, words, zone),
            FeedbackReply(self.registrations, words, contexts),
            PollVoteReply(self.campaign_replies, contexts),
            CampaignKeywordReply(self.campaign_replies, contexts),
            CancelPlaceReply(self.registrations, words, zone),
            SignUpReply(self.registrations, a.activities, zone),
        ]
        book = self.keywords
        reply_rule = self.book.rules.get("reply_recommendation")
        return InboundService(
            inbound=a.inbound_log,
            members=a.members,
            messages=a.messages,
            directory=a.directory,
            index=a.message_index,
            conversations=a.conversations,
            handoffs=a.handoffs,
            staff=a.staff,
            catalog=a.catalog,
            replier=self.lifecycle,
            receipts=self.receipts,
            consent=self.consent,
            classify=lambda text, locale: classify(text, locale, book),
            adapters=lambda: a.providers,
            cursors=a.cursors,
            default_region=self.settings.default_phone_region,
            picks=int(reply_rule.params.get("picks", 3)) if reply_rule else 3,
            log=self.log,
            replies=activity_replies,
        )

    # -- segments, campaigns, attribution, counters (issue 11) ----------------------------------------
    @cached_property
    def facts(self) -> MemberFacts:
        from .services.member_facts import MemberFacts

        a = self.adapters
        return MemberFacts(a.members, a.catalog, self.settings.store_timezone, self.log)

    @cached_property
    def attribution(self) -> Attribution:
        from .services.attribution import Attribution

        return Attribution(self.adapters.messages, self.adapters.campaigns, self.log)

    @cached_property
    def tallies(self) -> TallyService:
        from .services.tallies import TallyService

        return TallyService(self.adapters.tallies, self.settings.store_timezone)

    @cached_property
    def funnel(self) -> FunnelReport:
        from .services.funnel import FunnelReport

        return FunnelReport(self.adapters.tallies, self.settings.store_timezone)

    @cached_property
    def segments(self) -> SegmentService:
        from .services.segments import SegmentService

        a, s = self.adapters, self.settings
        return SegmentService(a.segments, a.members, s.store_timezone, s.campaign_parts)

    @cached_property
    def campaigns(self) -> CampaignService:
        from .services.campaigns import CampaignService

        a = self.adapters
        return CampaignService(
            a.campaigns,
            a.segments,
            a.tallies,
            a.polls,
            a.campaign_queue,
            self.book,
            self.settings.campaign_parts,
            self.log,
        )

    @cached_property
    def planner(self) -> CampaignPlanner:
        from .services.campaign_planner import CampaignPlanner
        from .settings import parse_rates

        a = self.adapters
        lifecycle = self.lifecycle
        return CampaignPlanner(
            a.campaigns,
            a.members,
            a.messages,
            a.send_queue,
            a.campaign_queue,
            lifecycle,
            lifecycle.policy,
            lifecycle.providers,
            parse_rates(self.settings.send_rates),
            links=lifecycle.links,
            log=self.log,
        )

    @cached_property
    def campaign_replies(self) -> CampaignReplies:
        """The campaign side of the inbound reply chain: ``try_vote`` and ``try_keyword``."""
        from .services.campaign_replies import CampaignReplies
        from .services.registrations import KeywordSignUps

        a = self.adapters
        return CampaignReplies(
            a.campaigns, a.polls, a.messages, a.members, KeywordSignUps(self.registrations), self.log
        )


def bootstrap(settings: Settings | None = None, adapters: Adapters | None = None, **kwargs: Any) -> App:
    """The app: real adapters by default; tests pass fakes (``adapters=FakeAdapters()``)."""
    settings = settings or get_settings()
    if adapters is not None:
        return App(adapters, settings, **kwargs)
    real = AwsAdapters(settings)
    app = App(real, settings, **kwargs)
    real.store_name = lambda: app.book.store.name
    return app


_current: App | None = None


def app() -> App:
    """The app of this Lambda container (built on the first call)."""
    global _current
    if _current is None:
        _current = bootstrap()
    return _current


def use(new: App | None) -> None:
    """Install ``new`` as the app handlers use (tests); None forgets it (built again on next use)."""
    global _current
    _current = new


@contextmanager
def using(new: App) -> Iterator[App]:
    previous = _current
    use(new)
    try:
        yield new
    finally:
        use(previous)


def aws_client(service: str) -> Any:
    return _clients.get(service) or _clients.setdefault(service, _new_client(service))


_clients: dict[str, Any] = {}


def _new_client(service: str) -> Any:
    import boto3

    return boto3.client(service)  # type: ignore[call-overload]


def reset() -> None:
    """Forget the app, the settings and the AWS clients (tests, after changing the environment)."""
    from . import settings

    settings.get_settings.cache_clear()
    _clients.clear()
    use(None)


def counting_aws_calls() -> bool:
    """Benchmarks only: count our AWS requests per invocation (see adapters/call_counter.py)."""
    import os

    if os.environ.get("MEMBERPULSE_COUNT_AWS_CALLS") != "1":
        return False
    from .adapters import call_counter

    call_counter.install()
    return True


def flush_aws_call_counts(function: str) -> None:
    if counting_aws_calls():
        from .adapters import call_counter

        call_counter.flush(function)

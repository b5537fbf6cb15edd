"""PynamoDB storage models. Storage shapes live here only; services see domain objects.

Table names come from the function's environment (set by infra/template.json)."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from ..settings import get_settings

_s = get_settings()


class MembersByPhone(GlobalSecondaryIndex["MemberModel"]):
    """Sparse (members with a phone): who wrote this SMS reply. E.164 keys."""

    class Meta:
        index_name = "by_phone"
        projection = KeysOnlyProjection()

    phone = UnicodeAttribute(hash_key=True)


class MembersByImUser(GlobalSecondaryIndex["MemberModel"]):
    """Sparse (members with an IM user id): who wrote this IM message."""

    class Meta:
        index_name = "by_im_user"
        projection = KeysOnlyProjection()

    im_user_id = UnicodeAttribute(hash_key=True)


class MemberModel(Model):
    class Meta:
        table_name = _s.members_table

    member_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    im_user_id = UnicodeAttribute(null=True)
    timezone = UnicodeAttribute(null=True)
    locale = UnicodeAttribute(default="zh-CN")
    joined_at = UnicodeAttribute(null=True)
    tier = UnicodeAttribute(null=True)
    store_id = UnicodeAttribute(null=True)
    tags: ListAttribute[Any] = ListAttribute(null=True)
    children: ListAttribute[Any] = ListAttribute(null=True)
    consent: MapAttribute[str, Any] = MapAttribute(null=True)
    stored_value: MapAttribute[str, Any] = MapAttribute(null=True)
    points_lots: ListAttribute[Any] = ListAttribute(null=True)
    points_balance = NumberAttribute(default=0)
    last_purchase_at = UnicodeAttribute(null=True)
    orders_count = NumberAttribute(null=True)
    total_spent = NumberAttribute(null=True)
    bought: MapAttribute[str, Any] = MapAttribute(null=True)  # category → last day bought
    attended: MapAttribute[str, Any] = MapAttribute(null=True)  # activity id → checked in at
    unreachable: MapAttribute[str, Any] = MapAttribute(null=True)
    created_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)
    erased_at = UnicodeAttribute(null=True)  # set: this item is an erased member's tombstone, nothing else
    by_phone = MembersByPhone()
    by_im_user = MembersByImUser()


class ActivityModel(Model):
    """Orders, points transactions and coupons, one item each under the member:
    ``sk`` = ``ORDER#<order_id>`` / ``POINTS#<txn_id>`` / ``COUPON#<coupon_id>``."""

    class Meta:
        table_name = _s.activity_table

    member_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    data: MapAttribute[str, Any] = MapAttribute()
    at = UnicodeAttribute()
    counted_at = UnicodeAttribute(null=True)  # an order counted on its member (services/member_facts.py)
    attributed_to = UnicodeAttribute(null=True)  # the message an order converted (services/attribution.py)


class MessagesByMember(GlobalSecondaryIndex["MessageModel"]):
    class Meta:
        index_name = "by_member"
        projection = AllProjection()

    member_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class MessagesByProviderId(GlobalSecondaryIndex["MessageModel"]):
    """Sparse (sent messages): a receipt that names only the provider's message id finds ours."""

    class Meta:
        index_name = "by_provider_id"
        projection = KeysOnlyProjection()

    provider_message_id = UnicodeAttribute(hash_key=True)


class MessagesByDay(GlobalSecondaryIndex["MessageModel"]):
    """The message log (``GET /v1/messages``): every message under the UTC day it was created
    (``log_day``), in creation order. A time range reads only its own days; filters on rule,
    status, campaign and channel apply within them (adapters/message_log.py)."""

    class Meta:
        index_name = "by_day"
        projection = AllProjection()

    log_day = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class MessagesAwaitingReceipt(GlobalSecondaryIndex["MessageModel"]):
    """Sparse: only messages recorded ``sent`` that await their receipt carry ``awaiting_receipt``
    (the provider's name), removed when any other status is recorded or the message is erased.
    ``receipt_check_at``: when it was sent, then when the reconciler last looked (services/reconciler.py)."""

    class Meta:
        index_name = "awaiting_receipt"
        projection = KeysOnlyProjection()

    awaiting_receipt = UnicodeAttribute(hash_key=True)
    receipt_check_at = UnicodeAttribute(range_key=True)


class MessageModel(Model):
    class Meta:
        table_name = _s.messages_table

    message_id = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    trigger = UnicodeAttribute()
    occurrence = UnicodeAttribute()
    channel = UnicodeAttribute()
    provider = UnicodeAttribute()
    text = UnicodeAttribute()
    status = UnicodeAttribute()
    rule_class = UnicodeAttribute(default="transactional")
    variant = UnicodeAttribute(null=True)
    send_after = UnicodeAttribute(null=True)
    send_before = UnicodeAttribute(null=True)  # goes before this moment or not at all
    sent_at = UnicodeAttribute(null=True)
    delivered_at = UnicodeAttribute(null=True)
    read_at = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    provider_message_id = UnicodeAttribute(null=True)
    parts = NumberAttribute(null=True)
    history: ListAttribute[Any] = ListAttribute(null=True)
    claim = UnicodeAttribute(null=True)
    claimed_at = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    call_started = BooleanAttribute(null=True)  # see Message.call_started
    fallback_of = UnicodeAttribute(null=True)
    by_member = MessagesByMember()
    by_provider_id = MessagesByProviderId()
    clicked_at = UnicodeAttribute(null=True)  # the first click on one of its tracked links
    campaign_id = UnicodeAttribute(null=True)
    converted_at = UnicodeAttribute(null=True)
    revenue = NumberAttribute(null=True)
    last_order = UnicodeAttribute(null=True)
    log_day = UnicodeAttribute(null=True)  # the UTC day of created_at: the message log's partition
    by_day = MessagesByDay()
    awaiting_receipt = UnicodeAttribute(null=True)  # the provider, while a receipt is awaited
    receipt_check_at = UnicodeAttribute(null=True)
    by_awaiting_receipt = MessagesAwaitingReceipt()


class ProductModel(Model):
    """Products by SKU, plus one bookkeeping item ``#catalog`` whose ``version`` goes up with every
    product write (caches of the catalog compare it before they are used)."""

    class Meta:
        table_name = _s.products_table

    sku = UnicodeAttribute(hash_key=True)
    data: MapAttribute[str, Any] = MapAttribute(null=True)
    version = NumberAttribute(null=True)


class ApiKeyModel(Model):
    class Meta:
        table_name = _s.api_keys_table

    key_hash = UnicodeAttribute(hash_key=True)
    key_id = UnicodeAttribute()
    label = UnicodeAttribute(default="")
    created_at = UnicodeAttribute()
    active = BooleanAttribute(default=True)


class OutboxModel(Model):
    """What the sandbox provider 'sent'."""

    class Meta:
        table_name = _s.outbox_table

    provider_message_id = UnicodeAttribute(hash_key=True)
    message_id = UnicodeAttribute()
    channel = UnicodeAttribute()
    to = UnicodeAttribute()
    text = UnicodeAttribute()
    parts = NumberAttribute()
    at = UnicodeAttribute()
    wall_ms = NumberAttribute(null=True)  # when it really happened (benchmarks measure throughput on it)


class TimersDue(GlobalSecondaryIndex["TimerModel"]):
    """Sparse: only pending timers carry ``due_hour``. A sweep reads the hour buckets it spans, and in
    each only the timers whose ``fire_at`` falls since the last sweep: every due timer is read once."""

    class Meta:
        index_name = "due"
        projection = KeysOnlyProjection()

    due_hour = UnicodeAttribute(hash_key=True)
    fire_at = UnicodeAttribute(range_key=True)


class TimerModel(Model):
    class Meta:
        table_name = _s.timers_table

    member_id = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)
    rule_id = UnicodeAttribute(null=True)
    occurrence = UnicodeAttribute(null=True)
    due_at = UnicodeAttribute(null=True)
    due_hour = UnicodeAttribute(null=True)
    fire_at = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    facts: MapAttribute[str, Any] = MapAttribute(null=True)
    fired: ListAttribute[Any] = ListAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    purge_at = NumberAttribute(null=True)  # TTL for finished timers
    watermark = UnicodeAttribute(null=True)
    due = TimersDue()


class AudienceByMember(GlobalSecondaryIndex["AudienceModel"]):
    """The segments a member is in (erasure takes them out of each)."""

    class Meta:
        index_name = "by_member"
        projection = KeysOnlyProjection()

    member_id = UnicodeAttribute(hash_key=True)
    segment = UnicodeAttribute(range_key=True)


class AudienceModel(Model):
    """Who belongs to a segment (``born#YYYY-MM``, ``tag#lego``): new arrivals find their members here."""

    class Meta:
        table_name = _s.audience_table

    segment = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute(range_key=True)
    child_index = NumberAttribute(null=True)
    by_member = AudienceByMember()


class CounterModel(Model):
    """Counters that must hold under concurrent senders: frequency caps per member and calendar
    period (``cap#<member>#week#2026-W47``), counting each message id once."""

    class Meta:
        table_name = _s.counters_table

    counter_id = UnicodeAttribute(hash_key=True)
    n = NumberAttribute(default=0)
    ids = UnicodeSetAttribute(null=True)
    expires = NumberAttribute(null=True)  # TTL
    # A provider's rate schedule (``rate#<provider>``): [[at ms, parts], …] of the last second.
    bookings: ListAttribute[Any] = ListAttribute(null=True)
    at = UnicodeAttribute(null=True)


# -- inbound (services/inbound.py, adapters/inbound_log.py …) -------------------------------------------


class InboundByMember(GlobalSecondaryIndex["InboundModel"]):
    """Sparse (kept records of a known member's events): what erasure deletes."""

    class Meta:
        index_name = "by_member"
        projection = KeysOnlyProjection()

    member_id = UnicodeAttribute(hash_key=True)


class InboundModel(Model):
    """Every inbound event once: ``event_key`` = ``<provider>#<event id>``, ``status`` processing →
    done, ids and outcome only (the dedupe row). Beside it, where keeping it is allowed, the event's
    masked record: ``event_key`` = ``<provider>#<event id>#record``, ``kind`` ``record``, with the
    member's id (``by_member``) and a shorter TTL (adapters/inbound_log.py)."""

    class Meta:
        table_name = _s.inbound_table

    event_key = UnicodeAttribute(hash_key=True)
    provider = UnicodeAttribute()
    event_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    at = UnicodeAttribute()
    status = UnicodeAttribute()
    outcome = UnicodeAttribute(null=True)
    record: MapAttribute[str, Any] = MapAttribute(null=True)
    member_id = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    expires = NumberAttribute(null=True)  # TTL
    by_member = InboundByMember()


class HandoffsByStatus(GlobalSecondaryIndex["HandoffModel"]):
    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class HandoffsByMember(GlobalSecondaryIndex["HandoffModel"]):
    """A member's tickets (export, erasure)."""

    class Meta:
        index_name = "by_member"
        projection = KeysOnlyProjection()

    member_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class HandoffModel(Model):
    """A member asked for a person ("售后", "客服", "human"): a ticket staff work through."""

    class Meta:
        table_name = _s.handoffs_table

    ticket_id = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute()
    channel = UnicodeAttribute()
    text = UnicodeAttribute()
    status = UnicodeAttribute()
    created_at = UnicodeAttribute()
    provider = UnicodeAttribute(null=True)
    event_id = UnicodeAttribute(null=True)
    notified = BooleanAttribute(default=False)
    by_status = HandoffsByStatus()
    by_member = HandoffsByMember()


class LinksByMessage(GlobalSecondaryIndex["LinkModel"]):
    """A message's tracked links (erasure)."""

    class Meta:
        index_name = "by_message"
        projection = KeysOnlyProjection()

    message_id = UnicodeAttribute(hash_key=True)


class LinkModel(Model):
    """A tracked link: ``/r/<token>`` → the target, for one message; clicks counted."""

    class Meta:
        table_name = _s.links_table

    token = UnicodeAttribute(hash_key=True)
    message_id = UnicodeAttribute()
    target = UnicodeAttribute()
    created_at = UnicodeAttribute()
    clicks = NumberAttribute(default=0)
    first_clicked_at = UnicodeAttribute(null=True)
    last_clicked_at = UnicodeAttribute(null=True)
    by_message = LinksByMessage()


class CursorModel(Model):
    """Where a pulling provider adapter keeps its place (WeCom kf ``next_cursor``)."""

    class Meta:
        table_name = _s.cursors_table

    cursor_key = UnicodeAttribute(hash_key=True)
    value = UnicodeAttribute()
    updated_at = UnicodeAttribute(null=True)


# -- store activities (adapters/activity_store.py) -----------------------------------------------------


class ActivitiesByStart(GlobalSecondaryIndex["StoreActivityModel"]):
    """Activities by start time (sparse: only activity items carry ``listing``)."""

    class Meta:
        index_name = "by_start"
        projection = AllProjection()

    listing = UnicodeAttribute(hash_key=True)
    starts_at = UnicodeAttribute(range_key=True)


class StoreActivityModel(Model):
    """A store activity (``sk`` ``#activity``): its definition, and its book: ``seats`` and
    ``waiting`` map each member holding a seat / waiting in line to their ticket, ``seq`` is the
    last ticket drawn. Registrations and invitations share the partition (``PlaceModel``)."""

    class Meta:
        table_name = _s.activities_table

    activity_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    listing = UnicodeAttribute(null=True)
    title = UnicodeAttribute()
    starts_at = UnicodeAttribute()
    ends_at = UnicodeAttribute()
    location = UnicodeAttribute()
    capacity = NumberAttribute()
    signup_keyword = UnicodeAttribute()
    signup_closes_at = UnicodeAttribute(null=True)
    offers_stop_at = UnicodeAttribute()
    waitlist_mode = UnicodeAttribute()
    claim_minutes = NumberAttribute()
    reminders_minutes: ListAttribute[Any] = ListAttribute(null=True)
    feedback_after_minutes = NumberAttribute()
    audience_segment = UnicodeAttribute(null=True)
    invite: ListAttribute[Any] = ListAttribute(null=True)
    status = UnicodeAttribute()
    utc_offset_minutes = NumberAttribute(default=0)
    revision = NumberAttribute(default=0)
    changed: ListAttribute[Any] = ListAttribute(null=True)
    created_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)
    seats: MapAttribute[str, Any] = MapAttribute(null=True)
    waiting: MapAttribute[str, Any] = MapAttribute(null=True)
    seq = NumberAttribute(default=0)
    by_start = ActivitiesByStart()


class PlacesByMember(GlobalSecondaryIndex["PlaceModel"]):
    """A member's registrations (``R#<activity>``) and invitations (``I#<time>#<activity>``)."""

    class Meta:
        index_name = "by_member"
        projection = AllProjection()

    member_id = UnicodeAttribute(hash_key=True)
    member_sort = UnicodeAttribute(range_key=True)


class PlaceModel(Model):
    """A member's registration (``sk`` ``REG#<member>``) or invitation (``INV#<member>``) in an activity."""

    class Meta:
        table_name = _s.activities_table

    activity_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    member_id = UnicodeAttribute()
    member_sort = UnicodeAttribute()
    status = UnicodeAttribute(null=True)
    ticket = NumberAttribute(null=True)
    registered_at = UnicodeAttribute(null=True)
    code = UnicodeAttribute(null=True)
    offer_expires_at = UnicodeAttribute(null=True)
    checked_in_at = UnicodeAttribute(null=True)
    cancelled_at = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    feedback: MapAttribute[str, Any] = MapAttribute(null=True)
    source = UnicodeAttribute(null=True)
    invited_at = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)
    by_member = PlacesByMember()


# -- segments and campaigns (adapters/segment_store.py, campaign_store.py, poll_box.py) -----------------


class CampaignsByStatus(GlobalSecondaryIndex["CampaignModel"]):
    """Sparse (campaign items only): the schedule tick finds the scheduled ones."""

    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    pk = UnicodeAttribute(range_key=True)


class CampaignsByMember(GlobalSecondaryIndex["CampaignModel"]):
    """Sparse (votes and keyword claims: the items that name a member): the member's export and
    erasure find them."""

    class Meta:
        index_name = "by_member"
        projection = AllProjection()

    member_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class CampaignModel(Model):
    """Segments (``segment#<id>`` / ``segment``), campaigns (``campaign#<id>`` / ``campaign``: the
    definition as JSON, its status, version and planning cursors) and what hangs off a campaign:
    votes (``vote#<member>``), the poll's counts (``poll#<option>``, ``poll#voters``) and keyword
    claims (``keyword#<member>``); votes and claims carry ``member_id`` (GSI ``by_member``)."""

    class Meta:
        table_name = _s.campaigns_table

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    body = UnicodeAttribute(null=True)  # JSON
    status = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)
    cursors: MapAttribute[str, Any] = MapAttribute(null=True)
    option = UnicodeAttribute(null=True)
    n = NumberAttribute(null=True)
    at = UnicodeAttribute(null=True)
    member_id = UnicodeAttribute(null=True)
    by_status = CampaignsByStatus()
    by_member = CampaignsByMember()


class TalliesByFunnelDay(GlobalSecondaryIndex["TallyModel"]):
    """Sparse: the funnel counters of one day in the store's zone (``funnel_day`` is set on
    ``funnel#…`` counters only): a funnel query reads days × groups items (domain/funnel.py)."""

    class Meta:
        index_name = "by_funnel_day"
        projection = AllProjection()

    funnel_day = UnicodeAttribute(hash_key=True)
    counter_id = UnicodeAttribute(range_key=True)


class TallyModel(Model):
    """A counter of messages (``campaign#<id>#<arm>``, ``rule#<rule>``, ``funnel#<day>#…``) in the
    counters table: one number per stage (services/tallies.py). Its markers
    (``fed#<message>#<event>``) are ``CounterModel`` items with a TTL."""

    class Meta:
        table_name = _s.counters_table

    counter_id = UnicodeAttribute(hash_key=True)
    funnel_day = UnicodeAttribute(null=True)
    by_funnel_day = TalliesByFunnelDay()
    members = NumberAttribute(null=True)
    queued = NumberAttribute(null=True)
    deferred = NumberAttribute(null=True)
    sent = NumberAttribute(null=True)
    delivered = NumberAttribute(null=True)
    read = NumberAttribute(null=True)
    clicked = NumberAttribute(null=True)
    converted = NumberAttribute(null=True)
    revenue = NumberAttribute(null=True)
    suppressed = NumberAttribute(null=True)
    capped = NumberAttribute(null=True)
    failed = NumberAttribute(null=True)
    undelivered = NumberAttribute(null=True)
    deferrals = NumberAttribute(null=True)
    suppressed_member_gone = NumberAttribute(null=True)
    suppressed_no_marketing_consent = NumberAttribute(null=True)
    suppressed_unreachable = NumberAttribute(null=True)
    suppressed_no_consent = NumberAttribute(null=True)
    suppressed_address_unusable = NumberAttribute(null=True)
    suppressed_no_address = NumberAttribute(null=True)
    suppressed_expired = NumberAttribute(null=True)
    suppressed_other = NumberAttribute(null=True)
    # A gauge: sent, no receipt within the provider's window (domain/reconciliation.py).
    unknown = NumberAttribute(null=True)

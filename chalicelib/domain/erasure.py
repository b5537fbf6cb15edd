"""Erasure (the member's right to be forgotten, CONTRACT §9): what is left of a member's records
once their personal data is gone. Pure; the stores and ``services/erasure.py`` carry it out.

What each store keeps, and why (the README's "Member data" says the same for the store's staff):

- the member: a TOMBSTONE (member id, ``erased_at``): no name, phone, IM id, children, tags,
  stored value, points, consent. Every path that acts for a member reads the member first and
  finds none, so a late receipt, a reply, a stream replay, a queued send or a timer creates and
  sends nothing. A later ``PUT`` of the same id is refused (409): a re-run of an old import must not
  bring the member back; a member who returns gets a new id.
- messages (campaign messages and control records too): kept for the counts (rule or campaign and
  variant, channel, provider, status and its trail of times, parts, clicked), with nothing that
  could name the member: no text, no provider message id, the occurrence (it may name a child)
  replaced, phone numbers masked in reasons; a message still waiting is suppressed ("member
  erased"). The conversion goes (when, revenue, which order): it is the member's purchase; the
  campaign's and the rules' counters already hold it, naming no one.
- the member item's purchase facts (order count, total spent, categories bought, activities
  attended): gone with the rest of the item (the tombstone replaces it).
- poll votes and keyword claims (the campaigns table's ``vote#``/``keyword#`` items): deleted; the
  poll's counts stay. Counters (per campaign arm, per rule) and their feed markers hold message ids
  only, and the markers expire within 14 days.
- orders, points, coupons, conversation history, consent changes (the activity table): deleted,
  with the marks on orders (counted on the member, the message converted). Amounts and dates under
  the member's id would still be the member's purchase history.
- store activities (the activities table): a place the member still holds (a seat, an offer, a
  place in line) is given up first as their cancellation would be ("member erased"): the seat goes
  to the first in line (confirmed at once, or offered), and everyone behind moves up a place. Then
  their registrations (times, check-in code, check-in, feedback: rating, words, media references)
  and invitations are deleted, with any place left in a book. An activity's counts and its feedback
  are read from the registrations there are, so the member drops out of them, past activities
  included (confirmed, checked in, no-show, cancelled; their rating leaves the average too): a
  count or a rating kept under a made-up id would still be what they did and said, and nothing
  counts those apart from the registrations. The activity's own ``invite`` list (the store's
  definition, ids only, like the tombstone) is kept; an erased member in it is never invited again.
- timers (their facts name children and products), audience rows, handoff tickets (the member's
  words), tracked links of the member's messages (a target may carry the member), the sandbox's
  outbox rows (number and text), the inbound log's kept records: deleted.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from .model import PENDING_STATUSES, Message, MessageStatus, StatusChange
from .phones import mask_phones_in

ERASED = "member erased"  # the reason of a message suppressed by the erasure
ERASED_OCCURRENCE = "erased"
PURGE_AGAIN_SECONDS = 900  # a second pass, for what a handler in flight wrote after the first


def erased_message(message: Message, at: datetime) -> Message:
    """The message as erasure leaves it: the counts' fields only."""
    status, reason, history = message.status, message.reason, list(message.history)
    if status in PENDING_STATUSES:
        status, reason = MessageStatus.SUPPRESSED, ERASED
        history.append(StatusChange(MessageStatus.SUPPRESSED, at, ERASED))
    return replace(
        message,
        text="",
        occurrence=ERASED_OCCURRENCE,
        status=status,
        reason=mask_phones_in(reason) if reason else None,
        history=[replace(h, reason=mask_phones_in(h.reason) if h.reason else None) for h in history],
        provider_message_id=None,
        claim=None,
        claimed_at=None,
        call_started=None,
        converted_at=None,
        revenue=0.0,
        last_order=None,
    )


def is_erased(message: Message) -> bool:
    """Whether the erasure has already been through this message (a later pass skips it)."""
    return message.occurrence == ERASED_OCCURRENCE and not message.text

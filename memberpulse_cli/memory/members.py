"""Members and their activity, the audience of new arrivals and the look-ups by address, in memory,
with the DynamoDB adapters' promises (``chalicelib/adapters/member_store.py``, ``audience_store.py``,
``member_directory.py``): optimistic versions, activity written once per key together with the
member, a consent change recorded with the write that makes it, an erased member's tombstone that
nothing replaces, copies in and out (changing what ``get`` returned changes nothing stored until
``save``); each order counted on its member once and attributed to a message once (the marks the
activity table keeps on the order's item), a parallel scan in parts that never yields a tombstone."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime

from chalicelib.domain.consent import ConsentChange
from chalicelib.domain.isotime import to_iso
from chalicelib.domain.model import Coupon, Member, Order, PointsTxn
from chalicelib.ports import VersionConflict

Activity = Order | PointsTxn | Coupon | ConsentChange


def copy_member(member: Member) -> Member:
    """A copy sharing nothing mutable (children, lots, consent … are frozen values). Field by field,
    without ``__init__``: every read and write of a member copies one."""
    copied = object.__new__(Member)
    fields = copied.__dict__
    fields.update(member.__dict__)
    fields["tags"] = list(member.tags)
    fields["children"] = list(member.children)
    fields["points_lots"] = list(member.points_lots)
    fields["unreachable"] = dict(member.unreachable)
    fields["bought"] = dict(member.bought)
    fields["attended"] = dict(member.attended)
    return copied


class MemoryMemberStore:
    """``MemberStore``: members by id; their orders, points transactions, coupons and consent changes
    by (member, ``ORDER#…``/``POINTS#…``/``COUPON#…``/``CONSENT#<at>#<version>``), as in the members
    and activity tables; erased members' tombstones (member id → ``erased_at``)."""

    def __init__(self) -> None:
        self.members: dict[str, Member] = {}
        self.tombstones: dict[str, datetime] = {}
        self.activity: dict[tuple[str, str], Activity] = {}
        self._of_member: dict[str, dict[str, Activity]] = {}
        # Marks on an order's item (member id, ``ORDER#…``): counted on the member (when), and the
        # message it converted (``services/member_facts.py``, ``services/attribution.py``).
        self.counted: dict[tuple[str, str], datetime] = {}
        self.attributed: dict[tuple[str, str], str] = {}

    # -- reads -------------------------------------------------------------------------------------
    def get(self, member_id: str) -> Member | None:
        stored = self.members.get(member_id)
        return copy_member(stored) if stored is not None else None

    def erased_at(self, member_id: str) -> datetime | None:
        return self.tombstones.get(member_id)

    def activity_of(self, member_id: str) -> dict[str, Activity]:
        """The member's partition of the activity table: range key → item, in key order."""
        rows = self._of_member.get(member_id, {})
        return {sk: rows[sk] for sk in sorted(rows)}

    def get_order(self, member_id: str, order_id: str) -> Order | None:
        found = self.activity.get((member_id, f"ORDER#{order_id}"))
        return found if isinstance(found, Order) else None

    def get_points(self, member_id: str, txn_id: str) -> PointsTxn | None:
        found = self.activity.get((member_id, f"POINTS#{txn_id}"))
        return found if isinstance(found, PointsTxn) else None

    def orders(self, member_id: str) -> list[Order]:
        return [a for a in self._activity_of(member_id) if isinstance(a, Order)]

    def points_txns(self, member_id: str) -> list[PointsTxn]:
        return [a for a in self._activity_of(member_id) if isinstance(a, PointsTxn)]

    def coupons(self, member_id: str) -> list[Coupon]:
        return [a for a in self._activity_of(member_id) if isinstance(a, Coupon)]

    def _activity_of(self, member_id: str) -> list[Activity]:
        return list(self.activity_of(member_id).values())

    def scan_page(self, part: int, parts: int, cursor: str | None, limit: int) -> tuple[list[Member], str | None]:
        """Members of part ``part`` (by a stable hash of the id, as DynamoDB's scan segments are by
        hash key), in id order, after ``cursor`` (the last id of the page before). Tombstones are
        not members: an erased member is never read."""
        mine = sorted(
            mid
            for mid in self.members
            if int(hashlib.blake2b(mid.encode(), digest_size=8).hexdigest(), 16) % parts == part
            and (cursor is None or mid > cursor)
        )
        page = mine[:limit]
        return [copy_member(self.members[mid]) for mid in page], (page[-1] if len(mine) > limit else None)

    # -- writes ------------------------------------------------------------------------------------
    def _writing(self) -> None:
        """Called as each versioned write begins (test doubles hook concurrent writers in here)."""

    def _check_version(self, member: Member) -> None:
        if member.member_id in self.tombstones:
            raise VersionConflict(member.member_id)  # a tombstone is never replaced
        stored = self.members.get(member.member_id)
        if member.version == 0:
            if stored is not None:
                raise VersionConflict(member.member_id)
        elif stored is None or stored.version != member.version:
            raise VersionConflict(member.member_id)

    def _commit(self, member: Member) -> None:
        member.version += 1
        self.members[member.member_id] = copy_member(member)

    def save(self, member: Member, consent: ConsentChange | None = None) -> None:
        """With ``consent``, the change is recorded in the member's history in the same write (one
        transaction in DynamoDB): both or neither."""
        self._writing()
        if consent is None:
            self._check_version(member)
            self._commit(member)
            return
        sk = f"CONSENT#{to_iso(consent.at)}#{member.version + 1}"
        if (consent.member_id, sk) in self.activity:
            raise VersionConflict(member.member_id)
        self._check_version(member)
        self._put_activity(consent.member_id, sk, consent)
        self._commit(member)

    def erase(self, member_id: str, at: datetime) -> str:
        """The member replaced by its tombstone: ``erased``, ``already`` or ``unknown``. Their
        activity stays until the purge deletes it (``MemoryActivityLog.forget_member``)."""
        if member_id in self.tombstones:
            return "already"
        if self.members.pop(member_id, None) is None:
            return "unknown"
        self.tombstones[member_id] = at
        return "erased"

    def _add_activity(self, member_id: str, sk: str, value: Activity, member: Member | None) -> bool:
        if member is not None:
            self._writing()
        # As in the DynamoDB transaction, the activity condition is reported first.
        if (member_id, sk) in self.activity:
            return False
        if member is not None:
            self._check_version(member)
        self._put_activity(member_id, sk, value)
        if member is not None:
            self._commit(member)
        return True

    def _put_activity(self, member_id: str, sk: str, value: Activity) -> None:
        self.activity[(member_id, sk)] = value
        self._of_member.setdefault(member_id, {})[sk] = value

    def forget_activity(self, member_id: str) -> int:
        """Delete the member's whole partition of the activity table (orders, points, coupons,
        consent changes, with the marks on the orders); returns how many items."""
        rows = self._of_member.pop(member_id, {})
        for sk in rows:
            del self.activity[(member_id, sk)]
            self.counted.pop((member_id, sk), None)
            self.attributed.pop((member_id, sk), None)
        return len(rows)

    def count_order(self, order: Order, member: Member) -> bool:
        """The order's "counted" mark and ``member`` together: False (nothing written) when the order
        is not stored or was counted before (reported first, as in the DynamoDB transaction);
        VersionConflict when the member changed or was erased."""
        self._writing()
        key = (order.member_id, f"ORDER#{order.order_id}")
        if key not in self.activity or key in self.counted:
            return False
        self._check_version(member)
        self.counted[key] = order.purchased_at
        self._commit(member)
        return True

    def attribute(self, member_id: str, order_id: str, message_id: str) -> bool:
        """Mark the stored order as converting ``message_id``: False if there is no such order or it
        was attributed before."""
        key = (member_id, f"ORDER#{order_id}")
        if key not in self.activity or key in self.attributed:
            return False
        self.attributed[key] = message_id
        return True

    def attended(self, member_id: str, activity_id: str, at: datetime) -> bool:
        """The ``Attendance`` port: the activity on the member's ``attended`` map, once; nothing for
        a member who is not there (or erased: the tombstone takes nothing)."""
        stored = self.members.get(member_id)
        if stored is None or activity_id in stored.attended:
            return False
        stored.attended[activity_id] = at
        stored.version += 1
        return True

    def add_order(self, order: Order, member: Member) -> bool:
        return self._add_activity(order.member_id, f"ORDER#{order.order_id}", order, member)

    def add_points(self, txn: PointsTxn, member: Member) -> bool:
        return self._add_activity(txn.member_id, f"POINTS#{txn.txn_id}", txn, member)

    def add_coupon(self, coupon: Coupon) -> bool:
        return self._add_activity(coupon.member_id, f"COUPON#{coupon.coupon_id}", coupon, None)

    def mark_unreachable(self, member_id: str, channel: str, why: str) -> None:
        """No version check (one key of one map), but the version moves, as in DynamoDB."""
        stored = self.members.get(member_id)
        if stored is not None:
            stored.unreachable[channel] = why
            stored.version += 1


class MemoryMemberDirectory:
    """``MemberDirectory`` over a :class:`MemoryMemberStore` (the members table's sparse GSIs)."""

    def __init__(self, members: MemoryMemberStore) -> None:
        self.store = members

    def by_phone(self, phone: str) -> str | None:
        return next((m.member_id for m in self.store.members.values() if m.phone == phone), None)

    def by_im_user(self, im_user_id: str) -> str | None:
        return next((m.member_id for m in self.store.members.values() if m.im_user_id == im_user_id), None)

    def phones_of(self, member_ids: list[str]) -> dict[str, str]:
        found = (self.store.members.get(mid) for mid in set(member_ids))
        return {m.member_id: m.phone for m in found if m is not None and m.phone}


class MemoryAudienceStore:
    """``AudienceStore``: segment → {member id: child index}, listed in member-id order (the audience
    table's range key); a segment with no members left is gone, as its rows are."""

    def __init__(self) -> None:
        self.segments: dict[str, dict[str, int | None]] = {}

    def members_in(self, segment: str) -> Iterator[tuple[str, int | None]]:
        yield from sorted(self.segments.get(segment, {}).items())

    def update(self, member_id: str, add: dict[str, int | None], remove: list[str]) -> None:
        for segment, child_index in add.items():
            self.segments.setdefault(segment, {})[member_id] = child_index
        for segment in remove:
            members = self.segments.get(segment)
            if members is not None:
                members.pop(member_id, None)
                if not members:
                    del self.segments[segment]

    def forget_member(self, member_id: str) -> int:
        mine = [segment for segment, members in self.segments.items() if member_id in members]
        self.update(member_id, {}, mine)
        return len(mine)

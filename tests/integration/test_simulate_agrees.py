"""``memberpulse simulate`` and the live engine agree on a 60-day scenario, message for message.

One store's history — members in four zones with children, points lots (one partly spent), stored
value, orders with accessories and a puzzle series, a coupon, a new arrival coming, a late-evening
order whose care check falls in quiet hours, a member without marketing consent, a week in which
one member's marketing messages hit the weekly cap, and a member erased before the window (whose
purge has not run: their timers, audience rows and orders are still there) — is lived through
twice:

1. LIVE: the services wired with the DynamoDB adapters on moto. Every write goes through the
   member service as the HTTP API makes it; each write's stream records (old and new images of
   every item it changed, stamped with the write's time) go through the stream handlers; the
   schedule ticks (``handlers/schedule.tick``) whenever a timer falls due, its batches go through
   ``fire_timers``, and the send queue through ``handlers/sender.send_batch`` with the sandbox
   provider — through the history and on across the 60 days.
2. PREVIEW: at the first moment of the window the tables are read as ``simulate --source stack``
   reads them (``snapshot_from_items``), and ``simulate`` walks the same 60 days.

Every message planned from that moment on must be the same in both: member, rule, occurrence,
channel, status, text, when (and when it was sent, and why it waited or was not sent)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chalicelib import bootstrap
from chalicelib.adapters import codec
from chalicelib.domain.isotime import parse_iso, to_iso
from chalicelib.domain.model import Message
from chalicelib.domain.rulebook import load_rule_book
from chalicelib.handlers import schedule, sender, streams
from memberpulse_cli.simulate import (
    Simulation,
    from_dynamo,
    message_rows,
    simulate,
    snapshot_from_items,
    window,
)

from .conftest import AwsStack, FakeLambdaContext, load_event

BOOK = load_rule_book()
STORE_ZONE = "Asia/Shanghai"
START = date(2027, 3, 1)  # a Monday and the first of a month: every cap period begins with the window
DAYS = 60
END_DAY = START + timedelta(days=DAYS)
T0 = datetime(2027, 2, 28, 15, 0, tzinfo=UTC)  # 2027-03-01 00:00 in Tokyo, the easternmost zone
END = datetime(2027, 4, 30, 7, 0, tzinfo=UTC)  # 2027-04-30 00:00 in Los Angeles, the westernmost


def at(zone: str, year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone)).astimezone(UTC)


SH, LA, BER, TYO = "Asia/Shanghai", "America/Los_Angeles", "Europe/Berlin", "Asia/Tokyo"

PRODUCTS: dict[str, dict[str, Any]] = {
    "DOLL": {"name": "小熊娃娃", "category": "doll", "age_min_months": 24, "age_max_months": 72, "price": 99},
    "DRESS": {"name": "小熊换装套", "category": "doll_accessory", "accessory_of": ["doll"], "price": 39},
    "PUZ-1": {"name": "恐龙拼图·第1辑", "category": "puzzle", "age_min_months": 36, "age_max_months": 96},
    "PUZ-2": {"name": "恐龙拼图·第2辑", "category": "puzzle", "age_min_months": 48, "age_max_months": 96},
    "BLOCKS": {"name": "积木桶", "category": "blocks", "age_min_months": 24, "age_max_months": 120},
}
ROBOT = {
    "name": "机器人套件",
    "category": "stem",
    "age_min_months": 60,
    "age_max_months": 144,
    "arrived_on": "2027-03-12",
}


def order(order_id: str, when: datetime, *skus: str) -> dict[str, Any]:
    items = [{"sku": sku, "qty": 1, "price": 50} for sku in skus]
    return {"order_id": order_id, "purchased_at": to_iso(when), "items": items, "total": 50 * len(skus)}


@dataclass(frozen=True)
class Write:
    """One write as the HTTP API makes it, at its time."""

    at: datetime
    kind: str  # member / order / points / coupon / product / erase
    key: str  # member id, or SKU
    body: dict[str, Any]


def history() -> list[Write]:
    """The store's history up to the window, in time order."""
    writes = [Write(at(SH, 2026, 12, 1, 10), "product", sku, body) for sku, body in PRODUCTS.items()]
    writes += [
        # m-sh (Shanghai, IM): a birthday, a points lot, a doll and a puzzle bought ten days before
        # the window; with the robot arriving, four marketing messages in the week of 8 March.
        Write(at(SH, 2026, 12, 1, 11), "member", "m-sh", {
            "name": "王小明", "phone": "+8613912345678", "im_user_id": "im_sh", "timezone": SH, "tier": "regular",
            "children": [{"name": "乐乐", "birthday": "2020-03-14", "gender": "boy"}],
            "consent": {"sms": True, "im": True, "marketing": True},
        }),
        Write(at(SH, 2027, 1, 10, 11), "points", "m-sh",
              {"txn_id": "p-sh-1", "delta": 300, "reason": "order", "expires_on": "2027-03-20"}),
        Write(at(SH, 2027, 2, 23, 11), "order", "m-sh", order("O-SH-1", at(SH, 2027, 2, 23, 11), "DOLL")),
        Write(at(SH, 2027, 2, 24, 15), "order", "m-sh", order("O-SH-2", at(SH, 2027, 2, 24, 15), "PUZ-1")),
        # m-la (Los Angeles, SMS only, English): a coupon, blocks bought in February, a birthday
        Write(at(LA, 2026, 12, 5, 10), "member", "m-la", {
            "name": "Amy", "phone": "+14155550123", "timezone": LA, "locale": "en",
            "children": [{"name": "Leo", "birthday": "2021-04-02", "gender": "boy"}],
            "consent": {"sms": True, "im": False, "marketing": True},
        }),
        Write(at(LA, 2027, 2, 10, 12), "order", "m-la", order("O-LA-1", at(LA, 2027, 2, 10, 12), "BLOCKS")),
        Write(at(LA, 2027, 2, 20, 12), "coupon", "m-la",
              {"coupon_id": "C-LA-1", "title": "Spring coupon", "value": 10, "expires_on": "2027-03-10"}),
        # ... and a puzzle on the evening before the window: its care check comes after the
        # snapshot's moment but still on her 28 February
        Write(at(LA, 2027, 2, 27, 20), "order", "m-la", order("O-LA-2", at(LA, 2027, 2, 27, 20), "PUZ-2")),
        # m-ber (Berlin, traditional Chinese, no marketing consent): stored value running out,
        # a purchase in January (the wake-up and the win-back come, and are not sent)
        Write(at(BER, 2026, 12, 10, 14), "member", "m-ber", {
            "name": "陳大文", "phone": "+4915112345678", "timezone": BER, "locale": "zh-TW",
            "stored_value": {"balance": 200, "expires_on": "2027-03-25"},
            "children": [{"name": "小文", "birthday": "2022-03-02", "gender": "boy"}],  # reminder due the day before
            "consent": {"sms": True, "im": True, "marketing": False},
        }),
        Write(at(BER, 2027, 1, 20, 14), "order", "m-ber", order("O-BER-1", at(BER, 2027, 1, 20, 14), "DOLL")),
        # m-tyo (Tokyo, IM): points earned then partly spent, a daughter's birthday in April
        Write(at(TYO, 2026, 12, 20, 12), "member", "m-tyo", {
            "name": "小林美咲", "phone": "+819012345678", "im_user_id": "im_tyo", "timezone": TYO,
            "children": [{"name": "小美", "birthday": "2019-04-10", "gender": "girl"}],
            "consent": {"sms": True, "im": True, "marketing": True},
        }),
        Write(at(TYO, 2027, 1, 5, 12), "points", "m-tyo",
              {"txn_id": "p-tyo-1", "delta": 500, "reason": "order", "expires_on": "2027-04-15"}),
        Write(at(TYO, 2027, 2, 1, 13), "order", "m-tyo", order("O-TYO-1", at(TYO, 2027, 2, 1, 13), "PUZ-2")),
        Write(at(TYO, 2027, 2, 10, 12), "points", "m-tyo", {"txn_id": "p-tyo-2", "delta": -200, "reason": "redeem"}),
        # ... and blocks the day before the window: the care check fell due before the snapshot
        Write(at(TYO, 2027, 2, 27, 12), "order", "m-tyo", order("O-TYO-2", at(TYO, 2027, 2, 27, 12), "BLOCKS")),
        # m-late (Shanghai, SMS, no marketing consent): a puzzle bought at 22:30 the evening before
        # the window: its care check falls due at 22:30, outside quiet hours
        Write(at(SH, 2027, 2, 1, 12), "member", "m-late", {
            "name": "李雷", "phone": "+8613712345678", "timezone": SH,
            "consent": {"sms": True, "im": False, "marketing": False},
        }),
        Write(at(SH, 2027, 2, 28, 22, 30), "order", "m-late", order("O-LATE-1", at(SH, 2027, 2, 28, 22, 30), "PUZ-1")),
        # The robot kit, arriving on 12 March for children of 5 to 12
        Write(at(SH, 2027, 2, 20, 10), "product", "ROBOT", ROBOT),
        # m-gone (Shanghai): a birthday and the robot's audience in the window, a doll bought, then
        # erased (DELETE /v1/members/m-gone) two days before it; the purge is not run
        Write(at(SH, 2026, 12, 15, 11), "member", "m-gone", {
            "name": "张伟", "phone": "+8613612345678", "timezone": SH,
            "children": [{"name": "小伟", "birthday": "2020-03-20", "gender": "boy"}],
            "consent": {"sms": True, "im": False, "marketing": True},
        }),
        Write(at(SH, 2027, 2, 24, 11), "order", "m-gone", order("O-GONE-1", at(SH, 2027, 2, 24, 11), "DOLL")),
        Write(at(SH, 2027, 2, 26, 10), "erase", "m-gone", {}),
    ]  # fmt: skip
    return sorted(writes, key=lambda w: w.at)


# -- the live run --------------------------------------------------------------------------------------


class Live:
    """The deployed functions' handlers on moto, driven through the history and the window."""

    STREAMS: tuple[tuple[str, Callable[[dict[str, Any], Any], dict[str, Any]]], ...] = (
        ("MembersTable", streams.member_changed),
        ("ActivityTable", streams.activity_changed),
        ("ProductsTable", streams.product_changed),
    )

    def __init__(self, aws: AwsStack, monkeypatch: pytest.MonkeyPatch) -> None:
        self.aws = aws
        self.context = FakeLambdaContext()
        self.now = T0
        self.sequence = 0
        monkeypatch.setattr(sender, "clock", lambda: self.now)  # the sender runs at the tick it follows
        bootstrap.use(bootstrap.bootstrap())
        self.app = bootstrap.app()

    def write(self, w: Write) -> None:
        """The write as the API makes it, then its stream records through the stream handlers."""
        before = self._images()
        service = self.app.members
        if w.kind == "member":
            service.upsert(w.key, w.body, w.at)
        elif w.kind == "order":
            service.record_order(w.key, w.body)
        elif w.kind == "points":
            service.record_points(w.key, w.body, w.at)
        elif w.kind == "coupon":
            service.issue_coupon(w.key, w.body, w.at)
        elif w.kind == "erase":
            assert self.app.erasure.erase(w.key, w.at) == "erased"
        else:
            service.put_product(w.key, w.body)
        after = self._images()
        for table, handler in self.STREAMS:
            records = list(self._records(before[table], after[table], w.at))
            if records:
                assert handler({"Records": records}, self.context) == {"batchItemFailures": []}

    def _images(self) -> dict[str, dict[str, dict[str, Any]]]:
        return {
            table: {json.dumps(self._keys(table, item), sort_keys=True): item for item in self.aws.scan(table)}
            for table, _ in self.STREAMS
        }

    def _keys(self, table: str, item: dict[str, Any]) -> dict[str, Any]:
        names = {"MembersTable": ("member_id",), "ActivityTable": ("member_id", "sk"), "ProductsTable": ("sku",)}
        return {name: item[name] for name in names[table]}

    def _records(
        self, before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]], when: datetime
    ) -> Iterator[dict[str, Any]]:
        """What a NEW_AND_OLD_IMAGES stream says about the write: each item it inserted or changed."""
        template = load_event("member_insert.json")["Records"][0]
        for key, new in after.items():
            old = before.get(key)
            if old == new:
                continue
            self.sequence += 1
            record = copy.deepcopy(template)
            record["eventID"] = f"e-{self.sequence}"
            record["eventName"] = "INSERT" if old is None else "MODIFY"
            record["dynamodb"] = {
                "ApproximateCreationDateTime": when.timestamp(),
                "Keys": json.loads(key),
                "NewImage": new,
                "SequenceNumber": str(self.sequence),
                "SizeBytes": len(json.dumps(new)),
                "StreamViewType": "NEW_AND_OLD_IMAGES",
            }
            if old is not None:
                record["dynamodb"]["OldImage"] = old
            yield record

    def next_tick(self) -> datetime | None:
        """The schedule's next tick (EventBridge, rate(1 minute): on each whole minute) that finds a
        timer due; the ticks in between find none."""
        due = [parse_iso(t["fire_at"]["S"]) for t in self.aws.scan("TimersTable") if "fire_at" in t]
        if not due:
            return None
        first = min(due)
        minute = first.replace(second=0)
        return minute if minute == first else minute + timedelta(minutes=1)

    def run_until(self, limit: datetime) -> None:
        while (tick := self.next_tick()) is not None and tick < limit:
            self.tick(tick)

    def tick(self, now: datetime) -> None:
        self.now = now
        event = load_event("scheduled.json")
        event["time"] = to_iso(now)
        schedule.tick(event, self.context)
        while batches := self.aws.drain_queue(self.aws.queues["TimerQueue"]):
            for i in range(0, len(batches), 5):  # the FireTimers function takes five records at a time
                result = schedule.fire_timers(self.aws.sqs_event(batches[i : i + 5]), self.context)
                assert result == {"batchItemFailures": []}
        while sends := self.aws.drain_queue():
            for i in range(0, len(sends), 10):  # the Send function takes ten records at a time
                assert sender.send_batch(self.aws.sqs_event(sends[i : i + 10]), self.context) == {
                    "batchItemFailures": []
                }

    def messages(self) -> list[Message]:
        return [codec.message_from_item(from_dynamo(item)) for item in self.aws.scan("MessagesTable")]


def fields(message: Message) -> tuple[Any, ...]:
    return (
        message.member_id,
        message.trigger,
        message.occurrence,
        message.channel.value,
        message.status.value,
        message.text,
        message.created_at,
        message.send_after,
        message.sent_at,
        message.delivered_at,
        message.reason,
    )


def test_simulate_and_the_live_engine_agree_on_60_days_message_for_message(
    aws: AwsStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    zones = [SH, LA, BER, TYO, SH]
    assert window(START, END_DAY, STORE_ZONE, zones) == (T0, END)

    # LIVE: the history, ticking as it goes; the snapshot at the window's first moment; the window.
    live = Live(aws, monkeypatch)
    for w in history():
        assert w.at < T0
        live.run_until(w.at)
        live.write(w)
    live.run_until(T0)
    snapshot = snapshot_from_items(aws.scan("MembersTable"), aws.scan("ActivityTable"), aws.scan("ProductsTable"))
    assert snapshot.skipped == 0 and len(snapshot.members) == 5
    # The erased member: a tombstone, and what the purge would delete still there, left out.
    assert [t for t in aws.scan("TimersTable") if t["member_id"]["S"] == "m-gone" and "fire_at" in t]
    assert [a for a in aws.scan("ActivityTable") if a["member_id"]["S"] == "m-gone"]
    assert "m-gone" not in {o.member_id for o in snapshot.orders}
    live.run_until(END)
    live_messages = [m for m in live.messages() if T0 <= m.created_at < END]

    # PREVIEW: simulate from the snapshot, as `memberpulse simulate --source stack --from 2027-03-01 --days 60`.
    rows = simulate(
        snapshot.members, snapshot.orders, snapshot.coupons, snapshot.products, BOOK, START, DAYS, STORE_ZONE
    )
    preview = Simulation(BOOK, STORE_ZONE)
    preview.load(snapshot.members, snapshot.orders, snapshot.coupons, snapshot.products, T0, arrivals_until=END_DAY)
    preview.run_until(END)
    preview_messages = list(preview.adapters.messages.messages.values())

    # Message for message: the same messages, each with the same fields.
    assert sorted(map(fields, preview_messages)) == sorted(map(fields, live_messages))
    # And the rows a user sees are the live messages' rows.
    live_zones = {m.member_id: m.timezone for m in snapshot.members}
    assert rows == message_rows(live_messages, live_zones, START, END_DAY, STORE_ZONE)

    # The scenario covers what it promises.
    shown = {(r.member_id, r.rule, r.status, (r.reason or "").split(":")[0]) for r in rows}
    assert {r.rule for r in rows} >= {
        "child_birthday", "points_expiring", "coupon_expiring", "balance_expiring", "dormant_45d", "winback_90d",
        "cross_sell", "repurchase", "post_purchase_care", "new_arrivals",
    }  # fmt: skip
    assert ("m-late", "post_purchase_care", "deferred", "quiet hours") in shown
    assert ("m-sh", "child_birthday", "deferred", "frequency cap") in shown
    assert ("m-sh", "new_arrivals", "deferred", "frequency cap") in shown
    assert ("m-ber", "dormant_45d", "suppressed", "no marketing consent") in shown
    assert ("m-la", "repurchase", "deferred", "frequency cap") in shown
    before_rows = [m for m in live_messages if (m.member_id, m.trigger) == ("m-la", "post_purchase_care")]
    assert [m.occurrence for m in before_rows] == ["O-LA-2"]  # planned after the snapshot, on her 28 February
    assert {r.member_id for r in rows} == {"m-sh", "m-la", "m-ber", "m-tyo", "m-late"}
    assert not [m for m in live.messages() if m.member_id == "m-gone" and m.created_at >= at(SH, 2027, 2, 26, 10)]
    assert {r.channel for r in rows} == {"im", "sms"}
    (points,) = [r for r in rows if r.member_id == "m-tyo" and r.rule == "points_expiring"]
    assert "300积分" in points.text  # the lot after the 200 spent

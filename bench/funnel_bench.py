"""Funnel query cost (issue 12): ``GET /v1/analytics/funnel`` reads the funnel counters of the
period's days — days × groups items — whatever the number of messages that fed them.

For 1,000 and for 100,000 messages (spread over 7 days, 8 rules, a campaign with two variants and
control, two channels), every message's life (planned → queued → sent → delivered, some read,
clicked, suppressed, deferred, converted) is turned into the counters' feeds by the same code the
messages stream runs (services/tallies.py). The counters are then stored in the counters table
(moto, shaped like infra/template.json) and the funnel is asked for the week by rule, by variant
and by day through the API's service on the DynamoDB adapter, counting the items DynamoDB read;
the answer is checked to be the one the in-memory counters give. (The feeds themselves are not sent
through moto one transaction at a time: moto copies its tables for each transaction, ~0.2 s apiece
here, which would measure moto, not the query; tests/integration/contract runs the DynamoDB
adapter's feed and funnel read against the in-memory one.)"""

from __future__ import annotations

import os
import random
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SIZES = (1_000, 100_000)
DAYS = 7
FIRST = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
RULES = ("welcome", "child_birthday", "points_expiring", "tier_upgrade", "dormant_45d", "winback_90d", "care_tip")
PARAMS = [{"from": "2026-11-23", "to": "2026-11-29", "group_by": g} for g in ("rule", "variant", "channel", "day")]


def lives(count: int, seed: int = 7) -> list[list[Any]]:
    """``count`` messages' successive images (domain Message), deterministic."""
    from chalicelib.domain.model import Channel, Message, MessageStatus

    rand = random.Random(seed)
    out: list[list[Any]] = []
    for i in range(count):
        at = FIRST + timedelta(days=i % DAYS, minutes=rand.randrange(600))
        channel = Channel.SMS if rand.random() < 0.4 else Channel.IM
        base = Message(f"msg{i:07d}", f"m{i % 5000:05d}", "", "o", channel, "sandbox", "…", MessageStatus.QUEUED, at)
        if i % 4 == 0:
            arm = ("a", "b", "control")[rand.randrange(3)]
            base = replace(base, trigger="campaign", campaign_id="trains", variant=arm)
            if arm == "control":
                out.append([replace(base, status=MessageStatus.CONTROL)])
                continue
        else:
            base = replace(base, trigger=RULES[(i // DAYS) % len(RULES)])
        roll = rand.random()
        if roll < 0.08:
            out.append([replace(base, status=MessageStatus.SUPPRESSED, reason="no sms consent")])
            continue
        life = [base]
        if roll < 0.2:
            life.insert(0, replace(base, status=MessageStatus.DEFERRED, reason="quiet hours"))
        sent = replace(base, status=MessageStatus.SENT, sent_at=at + timedelta(minutes=1))
        life.append(sent)
        if rand.random() < 0.9:
            life.append(replace(sent, status=MessageStatus.DELIVERED, delivered_at=at + timedelta(minutes=2)))
            if rand.random() < 0.4:
                life.append(replace(life[-1], status=MessageStatus.READ, read_at=at + timedelta(minutes=30)))
            if rand.random() < 0.15:
                life.append(replace(life[-1], clicked_at=at + timedelta(minutes=40)))
            if rand.random() < 0.05:
                life.append(replace(life[-1], converted_at=at + timedelta(hours=5), revenue=129.0, last_order=f"o{i}"))
        out.append(life)
    return out


def feed(service: Any, messages: list[list[Any]]) -> None:
    for life in messages:
        old = None
        for new in life:
            service.message_changed(old, new)
            old = new


def run() -> dict[str, Any]:
    os.environ.update(
        {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
        }
    )
    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        os.environ.pop(var, None)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import boto3
    from moto import mock_aws

    import tests.integration.conftest as stack
    from bench.campaign_bench import Calls, _hook_everything
    from chalicelib.domain.funnel import is_funnel_key
    from chalicelib.services.funnel import FunnelReport
    from chalicelib.services.tallies import TallyService
    from memberpulse_cli.memory import MemoryTallies

    print("Funnel: the week's funnel (by rule, variant, channel, day) at 1,000 and 100,000 messages (moto)")
    now = FIRST + timedelta(days=DAYS)
    calls = Calls()
    _hook_everything(calls)
    result: dict[str, Any] = {}
    for size in SIZES:
        messages = lives(size)
        memory = MemoryTallies()
        feed(TallyService(memory, "Asia/Shanghai"), messages)
        with mock_aws():
            stack._forget_cached_clients()
            from chalicelib.settings import get_settings

            get_settings.cache_clear()
            stack._create_tables(boto3.client("dynamodb", region_name="us-east-1"))
            from chalicelib.adapters.models import TallyModel
            from chalicelib.adapters.tally_store import DynamoTallies
            from chalicelib.domain.funnel import parse_key

            tallies = DynamoTallies()
            with TallyModel.batch_write() as batch:
                for key, counts in memory.counters.items():
                    day = parse_key(key).day.isoformat() if is_funnel_key(key) else None
                    batch.save(TallyModel(key, funnel_day=day, **{k: v for k, v in counts.items() if v}))
            report = FunnelReport(tallies, "Asia/Shanghai")
            calls.requests.clear()
            calls.items_read = 0
            calls.on = True
            answers = [report.rows(p, now) for p in PARAMS]
            calls.on = False
            expected = [FunnelReport(memory, "Asia/Shanghai").rows(p, now) for p in PARAMS]
            assert answers == expected, "the DynamoDB funnel differs from the counters fed in memory"
            counters = sum(1 for key in memory.counters if is_funnel_key(key))
            targeted = sum(row["targeted"] for row in answers[0]) + sum(
                row["targeted"] for row in answers[1] if row["key"].startswith("trains/")
            )
            result[str(size)] = {
                "funnel_counters": counters,
                "items_read_per_query": calls.items_read / len(PARAMS),
                "requests_per_query": calls.total("dynamodb") / len(PARAMS),
                "targeted": targeted,
            }
            print(
                f"  {size:>7,} messages → {counters} funnel counters; a week's funnel reads "
                f"{calls.items_read / len(PARAMS):.0f} items in {calls.total('dynamodb') / len(PARAMS):.0f} "
                f"requests (targeted shown: {targeted:,})"
            )
    small, large = result[str(SIZES[0])], result[str(SIZES[-1])]
    ratio = large["items_read_per_query"] / small["items_read_per_query"]
    result["items_read_ratio"] = ratio
    print(
        f"  items read at 100,000 ÷ at 1,000 messages = {ratio:.2f} (flat: days × groups, "
        f"{DAYS} days × ≤ {len(RULES) + 3} sources × 2 channels)"
    )
    return result

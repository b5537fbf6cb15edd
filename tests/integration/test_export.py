"""``memberpulse export`` on moto: the whole data set as JSON Lines and CSV, read with parallel scans,
erased members left out."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime

from chalicelib.adapters.member_store import DynamoMemberStore
from chalicelib.adapters.message_store import DynamoMessageStore
from chalicelib.domain.model import Channel, Member, Message, MessageStatus, Order, OrderItem, StatusChange
from memberpulse_cli.main import main

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
LOGICAL = {
    "MembersTable": "members",
    "ActivityTable": "activity",
    "MessagesTable": "messages",
    "ProductsTable": "products",
    "HandoffsTable": "handoffs",
    "TimersTable": "timers",
}


def test_given_members_orders_and_messages_when_exported_then_every_item_once_as_jsonl_and_csv(aws, tmp_path, capsys):
    store = DynamoMemberStore()
    for i in range(30):
        member = Member(f"m-{i:02d}", name=f"会员{i}", phone=f"+86138001380{i:02d}", tags=["lego"])
        store.save(member)
        store.add_order(Order(member.member_id, f"o-{i}", T0, (OrderItem("PZ-1", 1, 59.0),), 59.0), member)
        DynamoMessageStore().create(
            Message(
                f"msg-{i}",
                member.member_id,
                "welcome",
                "join",
                Channel.SMS,
                "sandbox",
                f"会员{i}，欢迎",
                MessageStatus.QUEUED,
                T0,
                history=[StatusChange(MessageStatus.QUEUED, T0)],
            )
        )
    store.erase("m-29", T0)
    stack = tmp_path / "stack.json"
    stack.write_text(
        json.dumps(
            {
                "region": "us-east-1",
                "endpoint_url": None,
                "tables": {LOGICAL[k]: v for k, v in aws.tables.items() if k in LOGICAL},
            }
        )
    )
    out = tmp_path / "export"

    assert main(["export", "--out", str(out), "--stack-file", str(stack), "--segments", "3"]) == 0

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tables"]["members"] == 29 and manifest["erased_members"] == 1
    assert manifest["tables"]["activity"] == 30 and manifest["tables"]["messages"] == 30
    assert "timers" not in manifest["tables"]  # operational, not the store's data set
    members = [json.loads(line) for line in (out / "members.jsonl").read_text().splitlines()]
    assert sorted(m["member_id"] for m in members) == [f"m-{i:02d}" for i in range(29)]
    with (out / "members.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 29 and {r["tags"] for r in rows} == {"lego"} and rows[0]["phone"].startswith("+86138")
    with (out / "orders.csv").open() as f:
        orders = list(csv.DictReader(f))
    assert len(orders) == 30 and json.loads(orders[0]["items"])[0]["sku"] == "PZ-1"
    assert "members" in capsys.readouterr().out


def test_given_no_members_table_when_exported_then_one_line_and_exit_1(aws, tmp_path, capsys):
    stack = tmp_path / "stack.json"
    stack.write_text(json.dumps({"region": "us-east-1", "tables": {}}))
    assert main(["export", "--out", str(tmp_path / "x"), "--stack-file", str(stack)]) == 1
    assert "members table" in capsys.readouterr().err

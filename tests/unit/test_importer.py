"""``memberpulse import``: CSV parsing, local validation, grouping, dry runs, idempotent imports and
the error report, against a fake API backed by the real MemberService (no network in unit tests)."""

from __future__ import annotations

import csv
import io
import json
import threading
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain.errors import Conflict, NotFound, ValidationFailed
from chalicelib.services.members import MemberService
from memberpulse_cli.client import Reply
from memberpulse_cli.importer import ImportOptions, ProgressBar, run_cli, run_import
from memberpulse_cli.main import main
from memberpulse_cli.project import CliError
from memberpulse_cli.snapshot import (
    normalize_day,
    normalize_time,
    parse_members,
    parse_orders,
    read_members,
    read_orders,
    read_snapshot_dir,
    read_table,
)
from tests.fakes import NOW, FakeMemberStore, FakeMessageStore, FakeProductStore

DATA = Path(__file__).resolve().parent.parent / "data"
POS = DATA / "pos"
ZONE = "Asia/Shanghai"


class FakeApi:
    """The two routes the importer calls, answered as the HTTP layer would (``handlers/http.py``)
    by the real ``MemberService`` over in-memory stores. Records every call."""

    def __init__(self, phone_region: str = "CN", status: int | None = None) -> None:
        self.store = FakeMemberStore()
        self.service = MemberService(self.store, FakeProductStore(), FakeMessageStore(), phone_region)
        self.calls: list[tuple[str, str]] = []
        self.status = status  # answer every call with this status instead
        self.lock = threading.Lock()

    def call(self, method: str, path: str, body: Any = None) -> Reply:
        with self.lock:
            self.calls.append((method, path))
            if self.status is not None:
                return Reply(self.status, {"error": {"code": "x", "message": "no"}})
            body = json.loads(json.dumps(body))  # as it travels: JSON only
            parts = path.strip("/").split("/")
            try:
                if method == "PUT" and len(parts) == 3 and parts[:2] == ["v1", "members"]:
                    member, created = self.service.upsert(parts[2], body, NOW)
                    return Reply(201 if created else 200, {"member_id": member.member_id})
                if method == "POST" and len(parts) == 4 and parts[3] == "orders":
                    order, created = self.service.record_order(parts[2], body)
                    return Reply(201 if created else 200, {"order_id": order.order_id, "created": created})
            except ValidationFailed as exc:
                return Reply(400, {"error": {"code": "invalid", "message": exc.message, "fields": exc.fields}})
            except NotFound as exc:
                return Reply(404, {"error": {"code": "not_found", "message": str(exc)}})
            except Conflict as exc:
                return Reply(409, {"error": {"code": "conflict", "message": str(exc)}})
            return Reply(404, {"error": {"code": "not_found", "message": "no route"}})


class NoApi:
    def call(self, method: str, path: str, body: Any = None) -> Reply:
        raise AssertionError(f"a dry run called {method} {path}")


def table(text: str, name: str = "members.csv") -> Any:
    from memberpulse_cli.snapshot import _CHILD_COLUMN, MEMBER_COLUMNS, ORDER_COLUMNS, ORDER_REQUIRED

    if name == "orders.csv":
        return read_table(text, name, ORDER_COLUMNS, ORDER_REQUIRED)
    return read_table(text, name, MEMBER_COLUMNS, ("member_id",), extra=lambda h: bool(_CHILD_COLUMN.match(h)))


def options(tmp_path: Path, **overrides: Any) -> ImportOptions:
    values: dict[str, Any] = {
        "members": POS / "members.csv",
        "orders": POS / "orders.csv",
        "stack_file": tmp_path / "missing-stack.json",
        "api_url": None,
        "api_key": None,
        "dry_run": False,
        "errors_file": tmp_path / "import-errors.csv",
        "workers": 1,
        "store_zone": ZONE,
        "phone_region": "CN",
    }
    values.update(overrides)
    return ImportOptions(**values)


def report(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


# -- members.csv ---------------------------------------------------------------------------------------


def test_members_csv_becomes_put_bodies() -> None:
    records, unknown = read_members(POS / "members.csv", ZONE, "CN")
    assert unknown == []
    by_id = {r.member_id: r for r in records}
    m1 = by_id["M001"]
    assert m1.row == 2
    assert m1.errors == []
    assert m1.body == {
        "name": "王小明",
        "phone": "138 0013 8000",  # the API normalises; validated locally the same way
        "timezone": "Asia/Shanghai",
        "locale": "zh-CN",
        "tier": "silver",
        "store_id": "S01",
        "joined_at": "2024-02-29T16:00:00Z",  # a bare date: midnight in the member's zone
        "tags": ["dinosaur", "puzzle"],
        "children": [{"name": "乐乐", "birthday": "2020-12-04", "gender": "boy"}],
        "consent": {"sms": True, "im": True, "marketing": True},
    }
    assert m1.changes is not None and m1.changes["phone"] == "+8613800138000"
    m2 = by_id["M002"]
    assert m2.body["children"] == [
        {"name": "小美", "birthday": "2019-06-01", "gender": "girl"},
        {"name": "小宝", "birthday": "2022-02-10", "gender": "boy"},
    ]
    assert m2.body["consent"] == {"sms": True, "im": True, "marketing": False}
    assert m2.body["joined_at"] == "2024-05-20T06:30:00Z"  # 14:30 in the store's zone
    assert by_id["M003"].body["joined_at"] == "2025-01-15T10:00:00-08:00"  # has a zone: kept


def test_bad_member_rows_are_reported_with_row_numbers_and_columns() -> None:
    records, _ = read_members(POS / "members.csv", ZONE, "CN")
    bad = {(e.row, e.member_id, e.column, e.field): e.error for r in records for e in r.errors}
    assert bad == {
        (5, "M004", "phone", "phone"): "not a valid phone number",
        (6, "M005", "consent_im", "consent.im"): "must be true/false, yes/no or 1/0",
        (6, "M005", "child_birthday", "children[0].birthday"): "must be a date YYYY-MM-DD",
    }
    assert [r.member_id for r in records if r.changes is not None] == ["M001", "M002", "M003"]


def test_second_child_errors_name_the_second_child_columns() -> None:
    text = (
        "member_id,child_name,child_birthday,child2_name,child2_birthday,child2_gender\n"
        "M1,,,小宝,2022-13-01,boy\n"
        "M2,安安,2020-01-01,小美,2021-01-01,robot\n"
    )
    records = parse_members(table(text), ZONE, "CN")
    assert [(e.row, e.column, e.field) for e in records[0].errors] == [(2, "child2_birthday", "children[0].birthday")]
    assert [(e.row, e.column, e.field) for e in records[1].errors] == [(3, "child2_gender", "children[1].gender")]


def test_cells_are_read_leniently() -> None:
    text = (
        "member_id,locale,tags,child_name,child_gender,child_birthday,stored_value_balance,stored_value_expires_on\n"
        'M1,zh_CN,a；b; c,乐乐,女,2020.1.5,"1,299.50",2027/1/1\n'
        "M2,en-US,,安安,,,12;5,\n"
    )
    good, bad = parse_members(table(text), ZONE, "CN")
    assert good.errors == []
    assert good.body["locale"] == "zh-CN"
    assert good.body["tags"] == ["a", "b", "c"]
    assert good.body["children"] == [{"name": "乐乐", "birthday": "2020-01-05", "gender": "girl"}]
    assert good.body["stored_value"] == {"balance": 1299.5, "expires_on": "2027-01-01"}
    assert bad.body["locale"] == "en"
    assert {(e.column, e.field, e.error) for e in bad.errors} == {
        ("child_birthday", "children[0].birthday", "is required"),
        ("stored_value_balance", "stored_value.balance", "must be a number"),
    }


def test_duplicate_member_ids_and_bad_ids() -> None:
    text = "member_id,name\nM1,a\nM1,b\nbad id,c\n,d\n"
    records = parse_members(table(text), ZONE, "CN")
    errors = [(e.row, e.error) for r in records for e in r.errors]
    assert errors[0] == (3, "duplicate member_id (first on row 2)")
    assert [row for row, _ in errors] == [3, 4, 5]


def test_a_missing_required_column_is_one_clear_error() -> None:
    with pytest.raises(CliError, match="missing column"):
        table("name,phone\nx,1\n")
    with pytest.raises(CliError, match="empty file"):
        table("")


def test_unknown_columns_are_listed_and_blank_lines_skipped() -> None:
    t = table("member_id,name,favourite_colour\n\nM1,a,red\n")
    assert t.unknown_columns == ["favourite_colour"]
    assert [row for row, _ in t.rows] == [3]


def test_gbk_and_bom_files(tmp_path: Path) -> None:
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("member_id,name\nM1,王小明\n".encode("gb18030"))
    bom = tmp_path / "bom.csv"
    bom.write_bytes("member_id,name\nM1,王小明\n".encode("utf-8-sig"))
    for path in (gbk, bom):
        (record,), _ = read_members(path, ZONE, "CN")
        assert record.body == {"name": "王小明"}


def test_time_and_date_normalisation() -> None:
    tz = ZoneInfo(ZONE)
    assert normalize_time("2025-03-01", tz) == "2025-02-28T16:00:00Z"
    assert normalize_time("2025/3/1 9:05", tz) == "2025-03-01T01:05:00Z"
    assert normalize_time("2025-03-01T09:05:30", tz) == "2025-03-01T01:05:30Z"
    assert normalize_time("2025-03-01T09:05:30+08:00", tz) == "2025-03-01T09:05:30+08:00"
    assert normalize_time("2025-02-30", tz) == "2025-02-30"  # left for validation to reject
    assert normalize_time("yesterday", tz) == "yesterday"
    assert normalize_day("2019/6/1") == "2019-06-01"
    assert normalize_day("1.6.2019") == "1.6.2019"


# -- orders.csv ----------------------------------------------------------------------------------------


def test_order_rows_are_grouped_by_order_id() -> None:
    orders, loose, unknown = read_orders(POS / "orders.csv", ZONE)
    assert unknown == []
    by_id = {o.order_id: o for o in orders}
    o1 = by_id["O1001"]
    assert o1.rows == [2, 3]
    assert o1.errors == []
    assert o1.body == {
        "order_id": "O1001",
        "purchased_at": "2025-10-01T07:20:00Z",
        "total": 158.0,
        "store_id": "S01",
        "items": [{"sku": "PUZ-DINO-1", "qty": 1, "price": 59.0}, {"sku": "DOLL-BEAR", "qty": 1, "price": 99.0}],
    }
    assert o1.order is not None and len(o1.order.items) == 2
    assert by_id["O1003"].body["total"] == 138.0  # no total column value: the sum of the lines
    assert [(e.row, e.column) for e in loose] == [(8, "order_id")]


def test_bad_order_rows_are_reported_on_their_row() -> None:
    orders, _, _ = read_orders(POS / "orders.csv", ZONE)
    bad = {(e.row, e.order_id, e.column, e.field) for o in orders for e in o.errors}
    assert bad == {
        (6, "O1004", "price", "items[0].price"),  # "abc"
        (7, "O1005", "purchased_at", "purchased_at"),  # "yesterday"
    }
    assert [o.order_id for o in orders if o.order is not None] == ["O1001", "O1002", "O1003"]


def test_rows_of_one_order_must_agree() -> None:
    text = (
        "order_id,member_id,purchased_at,sku,qty,price,total\n"
        "O1,M1,2025-01-01 10:00,A,1,10,30\n"
        "O1,M2,2025-01-01 10:00,B,2,10,30\n"
        "O2,M1,2025-01-02 10:00,C,0,10,\n"
    )
    orders, loose = parse_orders(table(text, "orders.csv"), ZONE)
    assert loose == []
    o1, o2 = orders
    assert [(e.row, e.column) for e in o1.errors] == [(3, "member_id")]
    assert "differs from 'M1' on row 2" in o1.errors[0].error
    assert [(e.row, e.field, e.error) for e in o2.errors] == [(4, "items[0].qty", "must be at least 1")]


# -- importing -----------------------------------------------------------------------------------------


def test_dry_run_validates_and_calls_nothing(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = run_cli(options(tmp_path, dry_run=True), api=NoApi(), out=out, err=err)
    assert code == 1  # some rows are bad
    assert "dry run (nothing sent): members 3 valid, 2 with errors; orders 3 valid, 3 with errors" in out.getvalue()
    rows = report(tmp_path / "import-errors.csv")
    assert [(r["file"], r["row"], r["column"]) for r in rows] == [
        ("members.csv", "5", "phone"),
        ("members.csv", "6", "consent_im"),
        ("members.csv", "6", "child_birthday"),
        ("orders.csv", "6", "price"),
        ("orders.csv", "7", "purchased_at"),
        ("orders.csv", "8", "order_id"),
    ]
    assert err.getvalue() == ""  # no progress bar when nothing is sent


def test_dry_run_of_clean_files_exits_0_and_writes_no_report(tmp_path: Path) -> None:
    snap = DATA / "snapshot"
    opts = options(tmp_path, members=snap / "members.csv", orders=snap / "orders.csv", dry_run=True)
    out = io.StringIO()
    assert run_cli(opts, api=NoApi(), out=out, err=io.StringIO()) == 0
    assert not (tmp_path / "import-errors.csv").exists()
    assert "members 3 valid, 0 with errors; orders 3 valid, 0 with errors" in out.getvalue()


def test_import_then_reimport_creates_nothing_new(tmp_path: Path) -> None:
    api = FakeApi()
    out, err = io.StringIO(), io.StringIO()
    assert run_cli(options(tmp_path), api=api, out=out, err=err) == 1
    assert out.getvalue().splitlines()[:2] == [
        "members: 3 created, 0 updated/unchanged, 2 failed",
        "orders:  3 created, 0 already recorded, 3 failed",
    ]
    assert set(api.store.members) == {"M001", "M002", "M003"}
    stored = api.store.get("M001")
    assert stored is not None and stored.phone == "+8613800138000"
    assert stored.last_purchase_at is not None and stored.last_purchase_at.isoformat() == "2025-10-01T07:20:00+00:00"
    assert len(api.store.orders("M001")) == 1
    # Only the valid rows went out: members before orders.
    assert len(api.calls) == 6
    assert [m for m, _ in api.calls] == ["PUT"] * 3 + ["POST"] * 3
    assert "\r[" in err.getvalue() and "6/6" in err.getvalue()

    out = io.StringIO()
    writes = api.store.writes
    assert run_cli(options(tmp_path), api=api, out=out, err=io.StringIO()) == 1
    assert out.getvalue().splitlines()[:2] == [
        "members: 0 created, 3 updated/unchanged, 2 failed",
        "orders:  0 created, 3 already recorded, 3 failed",
    ]
    assert len([k for k in api.store.activity if not k[1].startswith("CONSENT#")]) == 3
    assert len([k for k in api.store.activity if k[1].startswith("CONSENT#")]) == 3  # each member's, at creation
    assert api.store.writes == writes  # unchanged members are not written again; no new orders


def test_api_field_errors_land_in_the_report(tmp_path: Path) -> None:
    # The server reads local numbers as US ones, so the CN mobile numbers it gets are invalid there.
    api = FakeApi(phone_region="US")
    opts = options(tmp_path, orders=None)
    assert run_cli(opts, api=api, out=io.StringIO(), err=io.StringIO()) == 1
    rows = report(tmp_path / "import-errors.csv")
    api_rows = [r for r in rows if r["row"] == "2"]
    assert api_rows == [
        {
            "file": "members.csv",
            "row": "2",
            "member_id": "M001",
            "order_id": "",
            "column": "phone",
            "field": "phone",
            "error": "not a valid phone number",
        }
    ]


def test_orders_of_an_unknown_member_fail_and_the_rest_go_on(tmp_path: Path) -> None:
    api = FakeApi()
    orders_csv = tmp_path / "orders.csv"
    orders_csv.write_text(
        "order_id,member_id,purchased_at,sku,qty,price,total,store_id\n"
        "O1,M001,2025-10-01 15:20,A,1,10,,S01\n"
        "O2,NOBODY,2025-10-01 15:20,A,1,10,,S01\n"
        "O3,M001,2025-10-02 15:20,B,1,20,,S01\n",
        encoding="utf-8",
    )
    members_csv = tmp_path / "members.csv"
    members_csv.write_text("member_id,name\nM001,王小明\n", encoding="utf-8")
    out = io.StringIO()
    code = run_cli(options(tmp_path, members=members_csv, orders=orders_csv), api=api, out=out, err=io.StringIO())
    assert code == 1
    assert "orders:  2 created, 0 already recorded, 1 failed" in out.getvalue()
    (row,) = report(tmp_path / "import-errors.csv")
    assert (row["row"], row["order_id"], row["column"]) == ("3", "O2", "member_id")
    assert "does not exist" in row["error"]


def test_a_changed_order_is_a_conflict(tmp_path: Path) -> None:
    api = FakeApi()
    members_csv = tmp_path / "members.csv"
    members_csv.write_text("member_id\nM1\n", encoding="utf-8")
    orders_csv = tmp_path / "orders.csv"
    orders_csv.write_text("order_id,member_id,purchased_at,sku,qty,price\nO1,M1,2025-01-01,A,1,10\n")
    assert run_cli(options(tmp_path, members=members_csv, orders=orders_csv), api=api, out=io.StringIO()) == 0
    orders_csv.write_text("order_id,member_id,purchased_at,sku,qty,price\nO1,M1,2025-01-01,A,2,10\n")
    assert run_cli(options(tmp_path, members=members_csv, orders=orders_csv), api=api, out=io.StringIO()) == 1
    (row,) = report(tmp_path / "import-errors.csv")
    assert "HTTP 409" in row["error"]


def test_a_rejected_key_stops_the_import(tmp_path: Path) -> None:
    api = FakeApi(status=401)
    out = io.StringIO()
    assert run_cli(options(tmp_path, workers=3), api=api, out=out, err=io.StringIO()) == 1
    assert "stopped early: the API refused the key (HTTP 401)" in out.getvalue()
    assert len(api.calls) <= 3


def test_parallel_workers_give_the_same_result(tmp_path: Path) -> None:
    api = FakeApi()
    out = io.StringIO()
    run_cli(options(tmp_path, workers=4), api=api, out=out, err=io.StringIO())
    assert out.getvalue().splitlines()[:2] == [
        "members: 3 created, 0 updated/unchanged, 2 failed",
        "orders:  3 created, 0 already recorded, 3 failed",
    ]


def test_run_import_with_no_api_is_a_dry_run() -> None:
    records, _ = read_members(POS / "members.csv", ZONE, "CN")
    result = run_import(None, records, [])
    assert result.dry_run
    assert (result.members.valid, result.members.failed) == (3, 2)


def test_progress_bar() -> None:
    stream = io.StringIO()
    bar = ProgressBar(4, stream, width=8)
    for _ in range(4):
        bar.advance()
    bar.close()
    assert stream.getvalue().endswith("\r[########] 4/4\n")
    assert stream.getvalue().startswith("\r[##      ] 1/4")


def test_the_cli_verb(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    errors = tmp_path / "errs.csv"
    args = ["import", "--members", str(POS / "members.csv"), "--dry-run", "--errors", str(errors)]
    assert main(args) == 1
    assert "members 3 valid, 2 with errors" in capsys.readouterr().out
    assert len(report(errors)) == 3
    assert main(["import", "--dry-run"]) == 1
    assert "--members" in capsys.readouterr().err
    # Without --dry-run it needs an API: a missing stack file is a one-line error.
    assert main(["import", "--members", str(POS / "members.csv"), "--stack-file", str(tmp_path / "x.json")]) == 1
    assert "not found" in capsys.readouterr().err
    assert main(["import", "--members", str(POS / "members.csv"), "--api-url", "http://x"]) == 1
    assert "--api-key" in capsys.readouterr().err


def test_help_mentions_stale_history(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["import", "--help"])
    assert "Stale history sends nothing" in " ".join(capsys.readouterr().out.split())


# -- the same files as a simulate snapshot ------------------------------------------------------------------


def test_snapshot_dir_reads_like_the_api_would_store() -> None:
    snap = read_snapshot_dir(DATA / "snapshot", ZONE, "CN", NOW)
    assert snap.errors == []
    members = {m.member_id: m for m in snap.members}
    assert members["M001"].last_purchase_at is not None
    assert members["M001"].points_balance == 200
    assert members["M002"].stored_value is not None and members["M002"].stored_value.balance == 200
    assert members["M003"].consent.im is False
    assert len(snap.orders) == 3 and len(snap.coupons) == 1 and len(snap.products) == 6


def test_snapshot_dir_skips_bad_rows() -> None:
    snap = read_snapshot_dir(POS, ZONE, "CN", NOW)
    assert {m.member_id for m in snap.members} == {"M001", "M002", "M003"}
    assert {o.order_id for o in snap.orders} == {"O1001", "O1002", "O1003"}
    assert len(snap.errors) == 6

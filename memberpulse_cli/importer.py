"""``memberpulse import``: members and order history from CSV files (what a POS exports), through
the public HTTP API (``PUT /v1/members/{id}``, ``POST /v1/members/{id}/orders``; both idempotent).

Every row is checked locally first with the same validation the API runs
(``chalicelib.domain.validation``), so ``--dry-run`` finds bad rows without calling the API. Rows
that fail are written to an error report (file, row, ids, CSV column, API field, error); the rest
go on. A re-run creates nothing new: members are upserts and orders are keyed on ``order_id``.

Reading and checking the CSV files is :mod:`memberpulse_cli.snapshot` (shared with
``memberpulse simulate --source DIR``); this module is the sending side: the API calls, the worker
pool, the progress bar and the error report.
"""

from __future__ import annotations

import csv
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TextIO
from zoneinfo import ZoneInfo

from .client import Reply
from .project import CliError
from .snapshot import REPORT_COLUMNS, MemberRecord, OrderRecord, RowError, read_members, read_orders

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# -- importing through the API ----------------------------------------------------------------------------


class Api(Protocol):
    """What the importer needs of :class:`memberpulse_cli.client.ApiClient`."""

    def call(self, method: str, path: str, body: Any = None) -> Reply: ...


class ProgressBar:
    """``\\r[#####     ] 412/1000`` on stderr, redrawn at most every 0.1 s."""

    def __init__(self, total: int, stream: TextIO | None = None, width: int = 30, label: str = "") -> None:
        self.total = total
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.label = label
        self._last = 0.0

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= 0.1 or self.done >= self.total:
            self._last = now
            self.draw()

    def draw(self) -> None:
        filled = self.width * self.done // self.total if self.total else self.width
        bar = "#" * filled + " " * (self.width - filled)
        self.stream.write(f"\r{self.label}[{bar}] {self.done}/{self.total}")
        self.stream.flush()

    def close(self) -> None:
        self.draw()
        self.stream.write("\n")
        self.stream.flush()


@dataclass
class Tally:
    created: int = 0
    existing: int = 0  # members: updated or unchanged; orders: already recorded
    failed: int = 0
    valid: int = 0  # passed local validation


@dataclass
class ImportResult:
    members: Tally = field(default_factory=Tally)
    orders: Tally = field(default_factory=Tally)
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False
    aborted: str | None = None

    @property
    def failed(self) -> int:
        return self.members.failed + self.orders.failed

    def summary(self) -> str:
        if self.dry_run:
            lines = [
                f"dry run (nothing sent): members {self.members.valid} valid, {self.members.failed} with errors; "
                f"orders {self.orders.valid} valid, {self.orders.failed} with errors"
            ]
        else:
            lines = [
                f"members: {self.members.created} created, {self.members.existing} updated/unchanged, "
                f"{self.members.failed} failed",
                f"orders:  {self.orders.created} created, {self.orders.existing} already recorded, "
                f"{self.orders.failed} failed",
            ]
        if self.aborted:
            lines.append(f"stopped early: {self.aborted} (re-run to continue: the import is idempotent)")
        return "\n".join(lines)


class _Abort(Exception):
    """The API cannot be used at all (unreachable, key rejected): stop instead of failing every row."""


def _reply_fields(reply: Reply) -> tuple[dict[str, str], str]:
    body = reply.body
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        fields = err.get("fields") if isinstance(err.get("fields"), dict) else {}
        return {str(k): str(v) for k, v in (fields or {}).items()}, str(err.get("message") or err.get("code") or "")
    return {}, str(body)[:200] if body is not None else ""


def _check_usable(reply: Reply) -> None:
    if reply.status in (401, 403):
        raise _Abort(f"the API refused the key (HTTP {reply.status}): check --api-key / the stack file")


def _call(api: Api, method: str, path: str, body: Any) -> Reply:
    try:
        reply = api.call(method, path, body)
    except CliError as exc:  # unreachable after retries
        raise _Abort(str(exc)) from None
    _check_usable(reply)
    return reply


def put_member(api: Api, rec: MemberRecord) -> str:
    """``created``, ``existing`` or ``failed`` (with the API's errors on the record)."""
    reply = _call(api, "PUT", f"/v1/members/{rec.member_id}", rec.body)
    if reply.status == 201:
        return "created"
    if 200 <= reply.status < 300:
        return "existing"
    fields, message = _reply_fields(reply)
    if fields:
        for api_field, why in sorted(fields.items()):
            rec.error(rec.column_of(api_field), api_field, why)
    else:
        rec.error("", "", f"HTTP {reply.status}: {message}")
    return "failed"


def post_order(api: Api, rec: OrderRecord) -> str:
    reply = _call(api, "POST", f"/v1/members/{rec.member_id}/orders", rec.body)
    if reply.status == 201:
        return "created"
    if 200 <= reply.status < 300:
        return "existing"
    fields, message = _reply_fields(reply)
    if reply.status == 404:
        rec.error("member_id", "member_id", f"member {rec.member_id} does not exist: import it first")
    elif fields:
        rec.add_api_errors(fields)
    else:
        rec.error("", "", f"HTTP {reply.status}: {message}")
    return "failed"


def run_import(
    api: Api | None,
    members: Sequence[MemberRecord],
    orders: Sequence[OrderRecord],
    *,
    dry_run: bool = False,
    workers: int = 4,
    progress: ProgressBar | None = None,
    loose_errors: Sequence[RowError] = (),
) -> ImportResult:
    """Members first (in parallel), then each member's orders oldest first (members in parallel,
    one member's orders in sequence, as each one moves the member's last purchase)."""
    result = ImportResult(dry_run=dry_run, errors=list(loose_errors))
    good_members = [m for m in members if not m.errors]
    good_orders = [o for o in orders if not o.errors]
    result.members.valid, result.orders.valid = len(good_members), len(good_orders)
    result.members.failed = len(members) - len(good_members)
    result.orders.failed = len(orders) - len(good_orders) + len({(e.file, e.row) for e in loose_errors})
    if dry_run or api is None:
        result.dry_run = True
        result.errors.extend(e for rec in members for e in rec.errors)
        result.errors.extend(e for rec in orders for e in rec.errors)
        result.errors.sort(key=lambda e: (e.file, e.row))
        return result
    by_member: dict[str, list[OrderRecord]] = {}
    for order in sorted(good_orders, key=lambda o: (o.order.purchased_at if o.order else _EPOCH, o.row)):
        by_member.setdefault(order.member_id, []).append(order)
    lock = threading.Lock()

    def tally(kind: Tally, outcome: str) -> None:
        with lock:
            if outcome == "created":
                kind.created += 1
            elif outcome == "existing":
                kind.existing += 1
            else:
                kind.failed += 1
            if progress:
                progress.advance()

    def member_task(rec: MemberRecord) -> None:
        tally(result.members, put_member(api, rec))

    def orders_task(recs: list[OrderRecord]) -> None:
        for rec in recs:
            tally(result.orders, post_order(api, rec))

    try:
        _run_all(workers, [partial(member_task, rec) for rec in good_members])
        _run_all(workers, [partial(orders_task, recs) for recs in by_member.values()])
    except _Abort as exc:
        result.aborted = str(exc)
    finally:
        if progress:
            progress.close()
    result.errors.extend(e for rec in members for e in rec.errors)
    result.errors.extend(e for rec in orders for e in rec.errors)
    result.errors.sort(key=lambda e: (e.file, e.row))
    return result


def _run_all(workers: int, tasks: list[Callable[[], None]]) -> None:
    if workers <= 1:
        for task in tasks:
            task()
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures: list[Future[None]] = [pool.submit(task) for task in tasks]
        try:
            for future in as_completed(futures):
                future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def write_report(path: Path, errors: Sequence[RowError]) -> None:
    """The per-row error report: one line per problem (UTF-8 with BOM, so Excel shows Chinese)."""
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(REPORT_COLUMNS))
        writer.writeheader()
        for error in errors:
            writer.writerow(error.as_dict())


# -- the verb ----------------------------------------------------------------------------------------------


@dataclass
class ImportOptions:
    members: Path | None
    orders: Path | None
    stack_file: Path
    api_url: str | None
    api_key: str | None
    dry_run: bool
    errors_file: Path
    workers: int
    store_zone: str
    phone_region: str


def _client(opts: ImportOptions) -> Api:
    from .client import ApiClient

    if opts.api_url:
        if not opts.api_key:
            raise CliError("--api-url needs --api-key (or $MEMBERPULSE_API_KEY)")
        return ApiClient(opts.api_url, opts.api_key)
    from .stackinfo import read_stack_file

    stack = read_stack_file(opts.stack_file)
    if not stack.get("api_url"):
        raise CliError(f"{opts.stack_file}: no api_url")
    return ApiClient(stack["api_url"], opts.api_key or stack.get("api_key"))


def run_cli(opts: ImportOptions, api: Api | None = None, err: TextIO | None = None, out: TextIO | None = None) -> int:
    """Read, validate, import (unless ``dry_run``), write the error report, print the summary.
    Exit status 0 when every row went in (or, dry, is valid), 1 otherwise."""
    stderr = err if err is not None else sys.stderr
    stdout = out if out is not None else sys.stdout
    try:
        ZoneInfo(opts.store_zone)
    except (ValueError, OSError):
        raise CliError(f"--timezone {opts.store_zone}: not an IANA time zone") from None
    if opts.workers < 1:
        raise CliError("--workers must be at least 1")
    members: list[MemberRecord] = []
    orders: list[OrderRecord] = []
    loose: list[RowError] = []
    if opts.members:
        members, unknown = read_members(opts.members, opts.store_zone, opts.phone_region)
        if unknown:
            print(f"{opts.members.name}: ignoring unknown column(s) {', '.join(unknown)}", file=stderr)
    if opts.orders:
        orders, loose, unknown = read_orders(opts.orders, opts.store_zone)
        if unknown:
            print(f"{opts.orders.name}: ignoring unknown column(s) {', '.join(unknown)}", file=stderr)
    if not opts.dry_run and api is None:
        api = _client(opts)
    todo = sum(1 for m in members if not m.errors) + sum(1 for o in orders if not o.errors)
    progress = None if opts.dry_run or todo == 0 else ProgressBar(todo, stderr)
    result = run_import(
        None if opts.dry_run else api,
        members,
        orders,
        dry_run=opts.dry_run,
        workers=opts.workers,
        progress=progress,
        loose_errors=loose,
    )
    print(result.summary(), file=stdout)
    if result.errors:
        write_report(opts.errors_file, result.errors)
        rows = len({(e.file, e.row) for e in result.errors})
        print(f"{len(result.errors)} problem(s) on {rows} row(s): see {opts.errors_file}", file=stdout)
    return 1 if result.failed or result.aborted else 0

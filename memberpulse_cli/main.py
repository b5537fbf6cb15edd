"""``memberpulse`` verbs. Every verb has ``--help``; failures print one line and exit 1."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .dlq import QUEUES
from .functions import invoke
from .project import LOCAL_API_CONCURRENCY, CliError, Progress


def _target(args: argparse.Namespace) -> dict[str, Any]:
    """The deployed stack to act on: ``--stage`` (looked up in CloudFormation) or a stack.json."""
    from .stackinfo import read_stack_file

    if getattr(args, "stage", None):
        from .aws import Aws, explained
        from .project import stack_name
        from .stackinfo import describe

        aws = Aws(args.endpoint_url)
        info = explained(lambda: describe(aws, stack_name(args.stage)), args.endpoint_url)
        return {
            "endpoint_url": args.endpoint_url,
            "region": aws.region,
            "stack_name": info.stack_name,
            "functions": info.functions,
            "tables": info.tables,
            "queues": info.queues,
        }
    return read_stack_file(Path(args.stack_file))


def _aws_for(target: dict[str, Any]) -> Any:
    from .aws import Aws

    return Aws(target.get("endpoint_url"), target.get("region"))


def cmd_package(args: argparse.Namespace) -> int:
    from .packaging import package

    path = package(args.stage, Path(args.out), Progress())
    print(path)
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    from .deploy import DeployOptions, deploy

    params = dict(p.split("=", 1) for p in args.parameter or [])
    info = deploy(DeployOptions(args.stage, args.endpoint_url, parameters=params), Progress())
    print(json.dumps({"stack_name": info.stack_name, "api_url": info.api_url, "functions": info.functions}, indent=2))
    return 0


def _local(args: argparse.Namespace) -> Any:
    from .ministack import MiniStack
    from .project import LOCAL

    state = Path(args.state_dir) if args.state_dir else (LOCAL if args.port == 4566 else LOCAL / f"stack-{args.port}")
    return MiniStack(port=args.port, state_dir=state)


def cmd_up(args: argparse.Namespace) -> int:
    parameters: dict[str, str] = {}
    for item in args.parameter or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"--parameter {item!r}: expected KEY=VALUE (a parameter of infra/template.json)")
        parameters[key] = value
    data = _local(args).up(Progress(), fresh=args.fresh, parameters=parameters, api_concurrency=args.api_concurrency)
    print(f"API:   {data['api_url']}\nKey:   {data['api_key']}\nState: {_local(args).stack_file}")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    _local(args).stop(Progress())
    return 0


def cmd_run_schedule(args: argparse.Namespace) -> int:
    from .waiting import run_schedule

    result = run_schedule(_target(args), args.at, wait=args.wait, timeout=args.timeout)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


def cmd_invoke(args: argparse.Namespace) -> int:
    target = _target(args)
    try:
        payload = json.loads(Path(args.event).read_text())
    except (OSError, ValueError) as exc:
        raise CliError(f"--event {args.event}: {exc}") from None
    print(json.dumps(invoke(target, args.name, payload), indent=2, ensure_ascii=False))
    return 0


def cmd_keys_create(args: argparse.Namespace) -> int:
    from .aws import explained
    from .keys import create_key

    target = _target(args)
    key = explained(
        lambda: create_key(_aws_for(target), target["tables"]["api_keys"], args.label), target.get("endpoint_url")
    )
    print(key)
    print("Shown once: store it now. Only its hash is kept.", file=sys.stderr)
    return 0


def cmd_dlq_list(args: argparse.Namespace) -> int:
    from .dlq import list_dead

    rows = list_dead(_target(args), args.queue, args.most)
    print(json.dumps(rows, indent=2, ensure_ascii=False))
    print(f"{len(rows)} dead letters on the {args.queue} queue", file=sys.stderr)
    return 0


def cmd_dlq_redrive(args: argparse.Namespace) -> int:
    from .dlq import redrive

    moved = redrive(_target(args), args.queue)
    print(f"{moved} messages moved back to the {args.queue} queue")
    return 0


def cmd_reply(args: argparse.Namespace) -> int:
    from .inbound import sandbox_reply
    from .stackinfo import read_stack_file

    stack = read_stack_file(Path(args.stack_file))
    sent, reply = sandbox_reply(stack, args.sender, args.text, args.channel, args.provider, args.id, args.at)
    print(json.dumps({"sent": sent, "status": reply.status, "answer": reply.body}, indent=2, ensure_ascii=False))
    return 0 if reply.status < 300 else 1


def cmd_handoffs(args: argparse.Namespace) -> int:
    from .aws import explained
    from .inbound import list_handoffs

    target = _target(args)
    table = (target.get("tables") or {}).get("handoffs")
    if not table:
        raise CliError("the stack has no handoffs table: redeploy (`make up`)")
    members = (target.get("tables") or {}).get("members")
    rows = explained(
        lambda: list_handoffs(_aws_for(target), table, args.status, args.most, members), target.get("endpoint_url")
    )
    print(json.dumps(rows, indent=2, ensure_ascii=False))
    print(f"{len(rows)} {args.status} handoff tickets", file=sys.stderr)
    return 0


def cmd_activities(args: argparse.Namespace) -> int:
    import os

    from .activities import run
    from .client import ApiClient
    from .stackinfo import read_stack_file

    api_url, api_key = args.api_url, args.api_key or os.environ.get("MEMBERPULSE_API_KEY")
    if not api_url:
        stack = read_stack_file(Path(args.stack_file))
        api_url, api_key = stack["api_url"], api_key or stack.get("api_key")
    options = {k: getattr(args, k, None) for k in ("since", "member", "code")}
    client = ApiClient(api_url, api_key)
    print(run(client, args.activities_verb, getattr(args, "activity_id", None), as_json=args.json, **options))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .aws import explained
    from .export import export

    target = _target(args)
    client = _aws_for(target).client("dynamodb")
    manifest = explained(
        lambda: export(client, target.get("tables") or {}, Path(args.out), segments=args.segments, err=sys.stderr),
        target.get("endpoint_url"),
    )
    for name, count in {**manifest["tables"], **manifest["csv"]}.items():
        print(f"{name:<14} {count}")
    print(f"written to {args.out} (manifest.json; {manifest['erased_members']} erased members left out)")
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    from .stackinfo import read_stack_file

    stack = read_stack_file(Path(args.stack_file))
    url = f"{stack['api_url']}/console"
    if args.no_key:
        print(url)
    else:
        print(f"{url}#key={stack['api_key']}")
        print("The link signs in once: the console keeps the key in that tab only.", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return int(run_demo(Path(args.stack_file)))


def cmd_simulate(args: argparse.Namespace) -> int:
    import os
    from datetime import date

    from .simulate import Options, run

    try:
        start = date.fromisoformat(args.start) if args.start else None
    except ValueError:
        raise CliError(f"--from {args.start}: not a date YYYY-MM-DD") from None
    options = Options(
        days=args.days,
        start=start,
        source=args.source,
        stack_file=Path(args.stack_file),
        fmt="json" if args.json else "csv" if args.csv else "table",
        rules=args.rule or [],
        members=args.member or [],
        rules_file=Path(args.rules) if args.rules else None,
        store_zone=args.store_timezone or os.environ.get("STORE_TIMEZONE") or "Asia/Shanghai",
        phone_region=args.phone_region or os.environ.get("DEFAULT_PHONE_REGION") or "CN",
        include_dropped=args.include_dropped,
    )
    return run(options)


def cmd_import(args: argparse.Namespace) -> int:
    import os

    from .importer import ImportOptions, run_cli

    if not args.members and not args.orders:
        raise CliError("give --members FILE.csv and/or --orders FILE.csv")
    options = ImportOptions(
        members=Path(args.members) if args.members else None,
        orders=Path(args.orders) if args.orders else None,
        stack_file=Path(args.stack_file),
        api_url=args.api_url,
        api_key=args.api_key or os.environ.get("MEMBERPULSE_API_KEY"),
        dry_run=args.dry_run,
        errors_file=Path(args.errors),
        workers=args.workers,
        store_zone=args.timezone or os.environ.get("STORE_TIMEZONE") or "Asia/Shanghai",
        phone_region=args.phone_region or os.environ.get("DEFAULT_PHONE_REGION") or "CN",
    )
    return run_cli(options)


def _api_of(args: argparse.Namespace) -> Any:
    import os

    from .campaigns import client

    return client(args.stack_file, args.api_url, args.api_key or os.environ.get("MEMBERPULSE_API_KEY"))


def cmd_segments_preview(args: argparse.Namespace) -> int:
    from .campaigns import preview

    return preview(_api_of(args), args.segment_id)


def cmd_report(args: argparse.Namespace) -> int:
    from .campaigns import wide_console
    from .report import run

    given = {"from": args.date_from, "to": args.date_to, "group_by": args.group_by}
    given |= {"campaign": args.campaign, "rule": args.rule}
    return run(_api_of(args), {k: v for k, v in given.items() if v}, wide_console())


def cmd_campaigns(args: argparse.Namespace) -> int:
    from .campaigns import run

    return run(
        args.campaigns_verb,
        getattr(args, "campaign_id", None),
        _api_of(args),
        follow_send=not args.no_follow if hasattr(args, "no_follow") else False,
        timeout=getattr(args, "timeout", 600.0),
    )


def _api_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stack-file", default=".local/stack.json", help="API URL and key from this stack file (default)")
    p.add_argument("--api-url", help="the API's base URL instead of the stack file's")
    p.add_argument("--api-key", help="API key for --api-url (default $MEMBERPULSE_API_KEY)")


def _stack_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stack-file", default=".local/stack.json", help="the local stack's stack.json (default)")
    p.add_argument("--stage", help="act on the deployed stage STAGE instead of the local stack file")
    p.add_argument("--endpoint-url", help="with --stage: an AWS endpoint (e.g. the local stack)")


def _activities_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="the API's JSON instead of a table")
    _api_options(p)
    p.set_defaults(fn=cmd_activities)


def _local_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=4566, help="MiniStack gateway port (default 4566)")
    p.add_argument("--state-dir", help="where pid, log and stack.json go (default .local/)")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="memberpulse", description="MemberPulse: member lifecycle messaging.")
    verbs = root.add_subparsers(dest="verb", required=True)

    p = verbs.add_parser("package", help="chalice package merged with infra/ (template + zip)")
    p.add_argument("--stage", default="dev")
    p.add_argument("--out", default=".local/build/package")
    p.set_defaults(fn=cmd_package)

    p = verbs.add_parser("deploy", help="package and deploy through CloudFormation")
    p.add_argument("--stage", required=True)
    p.add_argument("--endpoint-url", help="deploy to this endpoint (the local stack) instead of AWS")
    p.add_argument(
        "--parameter",
        action="append",
        metavar="KEY=VALUE",
        help="a template parameter, e.g. SmsProvider=aliyun (repeatable)",
    )
    p.set_defaults(fn=cmd_deploy)

    p = verbs.add_parser("up", help="start the local stack (MiniStack) and deploy into it; idempotent")
    _local_options(p)
    p.add_argument("--fresh", action="store_true", help="empty the local stack first (all data is lost)")
    p.add_argument(
        "--parameter",
        action="append",
        metavar="KEY=VALUE",
        help="a template parameter for the deploy, e.g. SendRates=sandbox=20 (repeatable)",
    )
    p.add_argument(
        "--api-concurrency",
        type=int,
        default=LOCAL_API_CONCURRENCY,
        metavar="N",
        help=f"API invocations MiniStack runs at once (default {LOCAL_API_CONCURRENCY}; more are throttled with 429; "
        "0: no cap). "
        "MiniStack starts a process with its own copy of the code for each",
    )
    p.set_defaults(fn=cmd_up)

    p = verbs.add_parser("down", help="stop the local stack")
    _local_options(p)
    p.set_defaults(fn=cmd_down)

    p = verbs.add_parser("run-schedule", help="run the scheduled function as EventBridge would, at a logical time")
    p.add_argument("--at", required=True, help="ISO 8601 time, e.g. 2026-12-01T02:00:00Z")
    p.add_argument(
        "--wait",
        action="store_true",
        help="return when the tick's work has landed: the timers it released have fired and the timer "
        "and send queues are empty, nothing in flight (exit 1 with what is left after --timeout)",
    )
    p.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS", help="with --wait (default 120)")
    _stack_options(p)
    p.set_defaults(fn=cmd_run_schedule)

    p = verbs.add_parser("invoke", help="invoke a deployed function with a sample event")
    p.add_argument("name", help="handler name in app.py, e.g. on_member_change, send, on_schedule, app")
    p.add_argument("--event", required=True, help="a JSON event file, e.g. events/sqs_send_batch.json")
    _stack_options(p)
    p.set_defaults(fn=cmd_invoke)

    keys = verbs.add_parser("keys", help="API keys").add_subparsers(dest="keys_verb", required=True)
    p = keys.add_parser("create", help="create an API key (printed once, stored hashed)")
    p.add_argument("--label", default="", help="who or what the key is for")
    _stack_options(p)
    p.set_defaults(fn=cmd_keys_create)

    p = verbs.add_parser(
        "simulate",
        help="time-travel preview: who would receive which rule, day by day (sends nothing)",
        description=(
            "Walk the days [--from, --from + --days) over a snapshot (the local stack's tables, or a "
            "directory of CSVs) with the engine itself (the deployed services and rules.toml, over "
            "in-memory stores, the sandbox provider recording instead of sending), and print every "
            "message the date-based and follow-up rules would plan: day, due time (UTC and the "
            "member's local time), member, rule, channel, status (queued; deferred by quiet hours or a "
            "frequency cap; capped; or suppressed, with the reason) and the rendered text. Nothing is "
            "written or sent. Event rules (welcome, points_changed, tier_upgraded, coupon_issued, "
            "replies) need a new event and are not previewed. Throughput (member-days/s) goes to stderr."
        ),
        epilog=(
            "CSV directory: members.csv and orders.csv as for `memberpulse import`; optional "
            "products.csv (sku,name,category,age_min_months,age_max_months,gender,tags,price,"
            "accessory_of,arrived_on,in_stock), coupons.csv (coupon_id,member_id,title,value,"
            "expires_on,issued_at) and points.csv (txn_id,member_id,delta,reason,expires_on,"
            "created_at). See docs/cli.md."
        ),
    )
    p.add_argument("--days", type=int, required=True, help="how many days to walk")
    p.add_argument(
        "--from", dest="start", metavar="DATE", help="first day, YYYY-MM-DD (default: today in the store's zone)"
    )
    p.add_argument(
        "--source",
        default="stack",
        metavar="stack|DIR",
        help="'stack' (scan the local stack's tables; default) or a directory of CSVs",
    )
    p.add_argument("--stack-file", default=".local/stack.json", help="with --source stack (default .local/stack.json)")
    form = p.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="a JSON array instead of a table")
    form.add_argument("--csv", action="store_true", help="CSV instead of a table")
    p.add_argument("--rule", action="extend", nargs="+", metavar="R", help="only these rule ids (repeatable)")
    p.add_argument("--member", action="extend", nargs="+", metavar="M", help="only these member ids (repeatable)")
    p.add_argument("--rules", metavar="FILE", help="a rules.toml to preview (default chalicelib/rules.toml)")
    p.add_argument(
        "--store-timezone", metavar="TZ", help="the store's IANA zone (default $STORE_TIMEZONE or Asia/Shanghai)"
    )
    p.add_argument("--phone-region", metavar="CC", help="region for local phone numbers in CSVs (default CN)")
    p.add_argument(
        "--include-dropped", action="store_true", help="also list timers that would be dropped, with the reason"
    )
    p.set_defaults(fn=cmd_simulate)

    p = verbs.add_parser(
        "import",
        help="import members and order history from CSV (a POS export) through the HTTP API",
        description=(
            "Import members (PUT /v1/members/{id}) and order history (POST /v1/members/{id}/orders) "
            "from CSV. Every row is validated locally first (--dry-run stops there and calls nothing); "
            "rows that fail are written to the error report (file, row, ids, column, API field, "
            "error) and the rest go on. Re-running is safe: members are upserts and orders are keyed "
            "on order_id, so a re-run creates nothing new. Stale history sends nothing: a timer "
            "already past its rule's stale_after_hours (an old order's care check, a birthday or "
            "45-day reminder long gone) is never created. What is still ahead (a birthday next week, "
            "a dormant reminder 45 days after the last imported purchase) is scheduled as usual, and a "
            "member new to MemberPulse gets the welcome message (rule welcome) when created."
        ),
        epilog=(
            "members.csv: member_id,name,phone,timezone,locale,joined_at,tier,store_id,tags (';'-separated),"
            "child_name,child_birthday,child_gender (child2_…, child3_… optional),consent_sms,consent_im,"
            "consent_marketing [,im_user_id,stored_value_balance,stored_value_expires_on]. "
            "orders.csv: order_id,member_id,purchased_at,sku,qty,price,total,store_id, one row per item; "
            "rows with the same order_id form one order. Times without a zone are in --timezone. "
            "See docs/cli.md."
        ),
    )
    p.add_argument("--members", metavar="FILE.csv", help="members to upsert")
    p.add_argument("--orders", metavar="FILE.csv", help="order lines to record (after the members)")
    p.add_argument("--stack-file", default=".local/stack.json", help="API URL and key from this stack file (default)")
    p.add_argument("--api-url", help="the API's base URL instead of the stack file's")
    p.add_argument("--api-key", help="API key for --api-url (default $MEMBERPULSE_API_KEY)")
    p.add_argument("--dry-run", action="store_true", help="validate and report only; call nothing")
    p.add_argument(
        "--errors", default="import-errors.csv", metavar="FILE", help="error report (default import-errors.csv)"
    )
    p.add_argument("--workers", type=int, default=4, help="parallel requests (default 4)")
    p.add_argument(
        "--timezone", metavar="TZ", help="zone of times without one (default $STORE_TIMEZONE or Asia/Shanghai)"
    )
    p.add_argument("--phone-region", metavar="CC", help="region of phone numbers without +country (default CN)")
    p.set_defaults(fn=cmd_import)

    dlq = verbs.add_parser("dlq", help="dead letters of the send, timer and inbound queues").add_subparsers(
        dest="dlq_verb", required=True
    )
    p = dlq.add_parser("list", help="show dead letters (without removing them)")
    p.add_argument("--queue", choices=sorted(QUEUES), default="send", help="which queue's dead letters (default send)")
    p.add_argument("--most", type=int, default=50, help="at most this many (default 50)")
    _stack_options(p)
    p.set_defaults(fn=cmd_dlq_list)
    p = dlq.add_parser("redrive", help="move every dead letter back to its queue, to be tried again")
    p.add_argument("--queue", choices=sorted(QUEUES), default="send", help="which queue's dead letters (default send)")
    _stack_options(p)
    p.set_defaults(fn=cmd_dlq_redrive)

    p = verbs.add_parser(
        "reply",
        help="send a member's reply through the sandbox webhook (e.g. T, START, 3岁男孩, 售后)",
        description=(
            "POST a reply to the stack's sandbox webhook (stack.json webhooks.sandbox) as if a member "
            "had written TEXT from PHONE_OR_IM_ID, and print the webhook's answer. The reply is handled "
            "asynchronously (the on_inbound function): opt-out words turn that channel's consent off "
            "and send one confirmation, a child's age gets product picks, 售后/客服/human opens a "
            "handoff ticket; see the member's messages with GET /v1/members/{id}/messages."
        ),
    )
    p.add_argument("text", help="what the member wrote")
    p.add_argument("--from", dest="sender", required=True, metavar="PHONE_OR_IM_ID", help="E.164 phone or IM user id")
    p.add_argument("--channel", choices=["sms", "im"], default="sms", help="the channel written on (default sms)")
    p.add_argument("--provider", default="sandbox", help="the provider it arrives through (only sandbox)")
    p.add_argument("--id", help="the provider's event id (default: a new one; repeat one to replay)")
    p.add_argument("--at", help="when it was written, ISO 8601 (default now)")
    p.add_argument("--stack-file", default=".local/stack.json", help="the local stack's stack.json (default)")
    p.set_defaults(fn=cmd_reply)

    p = verbs.add_parser(
        "handoffs",
        help="list handoff tickets (members who asked for a person: 售后, 客服, human)",
        description="List handoff tickets, newest first, as JSON: ticket id, member, channel, text, status, time.",
    )
    p.add_argument("--status", default="open", help="tickets with this status (default open)")
    p.add_argument("--most", type=int, default=100, help="at most this many (default 100)")
    _stack_options(p)
    p.set_defaults(fn=cmd_handoffs)

    acts = verbs.add_parser(
        "activities", help="store activities: list, show, registrations, checkin (through the API)"
    ).add_subparsers(dest="activities_verb", required=True)
    p = acts.add_parser("list", help="activities by start time: seats taken and left, waitlist, offers")
    p.add_argument("--from", dest="since", metavar="ISO8601", help="only those starting from this time")
    _activities_options(p)
    p = acts.add_parser("show", help="one activity: its settings, counts and registrations")
    p.add_argument("activity_id")
    _activities_options(p)
    p = acts.add_parser("registrations", help="who holds a seat, an offer (until when) or a place in line")
    p.add_argument("activity_id")
    _activities_options(p)
    p = acts.add_parser("checkin", help="check a member in at the door, by member id or the code they were sent")
    p.add_argument("activity_id")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--member", metavar="MEMBER_ID", help="the member's id")
    who.add_argument("--code", help="the check-in code from activity_confirmed (any case)")
    _activities_options(p)

    segments = verbs.add_parser("segments", help="segments of members (CONTRACT §7)").add_subparsers(
        dest="segments_verb", required=True
    )
    p = segments.add_parser("preview", help="how many members are in the segment now, and a sample of them")
    p.add_argument("segment_id")
    _api_options(p)
    p.set_defaults(fn=cmd_segments_preview)

    campaigns = verbs.add_parser(
        "campaigns", help="campaigns: list, show, launch, pause, resume, results"
    ).add_subparsers(dest="campaigns_verb", required=True)
    p = campaigns.add_parser("list", help="every campaign, newest first")
    _api_options(p)
    p.set_defaults(fn=cmd_campaigns)
    for verb, text in (
        ("show", "status and progress per variant (a progress bar while it sends)"),
        ("launch", "freeze the audience and send (a progress bar while it sends)"),
        ("pause", "stop planning within one chunk"),
        ("resume", "carry on from where planning stopped"),
    ):
        p = campaigns.add_parser(verb, help=text)
        p.add_argument("campaign_id")
        if verb in ("show", "launch", "resume"):
            p.add_argument("--no-follow", action="store_true", help="print once; no progress bar")
            p.add_argument("--timeout", type=float, default=600.0, metavar="SECONDS", help="stop following after")
        _api_options(p)
        p.set_defaults(fn=cmd_campaigns)
    p = campaigns.add_parser("results", help="per arm: conversions, lift, p-value, chance to beat control, verdict")
    p.add_argument("campaign_id")
    _api_options(p)
    p.set_defaults(fn=cmd_campaigns)

    p = verbs.add_parser(
        "report",
        help="the funnel per rule, campaign, variant, channel or day over a period (GET /v1/analytics/funnel)",
        description=(
            "Print the funnel — targeted, suppressed (with reasons), capped, deferred, sent, delivered, read, "
            "clicked, converted, revenue — of the messages planned between --from and --to (days in the "
            "store's zone, both included; default the last 7 days), one row per --group-by."
        ),
    )
    p.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="first day (default: 6 days ago)")
    p.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="last day (default: today)")
    p.add_argument(
        "--group-by", choices=("rule", "campaign", "variant", "channel", "day"), default="rule", help="default rule"
    )
    p.add_argument("--campaign", metavar="ID", help="only this campaign's messages")
    p.add_argument("--rule", metavar="ID", help="only this rule's messages")
    _api_options(p)
    p.set_defaults(fn=cmd_report)

    p = verbs.add_parser(
        "export",
        help="the store's whole data set as files (JSON Lines and CSV), read with parallel scans",
        description=(
            "Write every data table of the stack (members, activity: orders, points, coupons, replies, "
            "consent changes; messages, products, handoffs; campaigns, segments and activities where the "
            "stack has them) under --out as <table>.jsonl (one item per line, as stored), CSV views "
            "(members, orders, points, coupons, messages, products) and manifest.json, with a progress "
            "bar per table on stderr. Erased members are left out. See docs/cli.md."
        ),
    )
    p.add_argument("--out", required=True, metavar="DIR", help="directory to write (created if missing)")
    p.add_argument("--segments", type=int, default=4, help="parallel scan segments per table (default 4)")
    _stack_options(p)
    p.set_defaults(fn=cmd_export)
    p = verbs.add_parser(
        "console",
        help="print the operator console's link for the local stack, signed in ({api_url}/console#key=…)",
        description=(
            "Print {api_url}/console#key=<the stack's dev key> from the stack file: open it in a browser "
            "to sign in to the operator console (funnels, campaign results, activities, the message log, "
            "members' timelines, handoffs). The console takes the key from the link once, keeps it in "
            "that browser tab only and clears it from the address bar. A deployed stage's console is "
            "{api_url}/console, signed in with a key from `memberpulse keys create`."
        ),
    )
    p.add_argument("--stack-file", default=".local/stack.json", help="the local stack's stack.json (default)")
    p.add_argument("--no-key", action="store_true", help="print the console's address without the key")
    p.set_defaults(fn=cmd_console)

    p = verbs.add_parser("demo", help="run the demo scenario against the local stack")
    p.add_argument("--stack-file", default=".local/stack.json")
    p.set_defaults(fn=cmd_demo)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.fn(args))
    except CliError as exc:
        print(f"memberpulse: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

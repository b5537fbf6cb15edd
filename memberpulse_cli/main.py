"""``memberpulse`` verbs. Every verb has ``--help``; failures print one line and exit 1."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .functions import invoke, scheduled_event
from .project import CliError, Progress


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
    from .localstack import LocalStack
    from .project import LOCAL

    state = Path(args.state_dir) if args.state_dir else (LOCAL if args.port == 4566 else LOCAL / f"stack-{args.port}")
    return LocalStack(port=args.port, state_dir=state)


def cmd_up(args: argparse.Namespace) -> int:
    data = _local(args).up(Progress(), fresh=args.fresh)
    print(f"API:   {data['api_url']}\nKey:   {data['api_key']}\nState: {_local(args).stack_file}")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    _local(args).stop(Progress())
    return 0


def cmd_run_schedule(args: argparse.Namespace) -> int:
    target = _target(args)
    event = scheduled_event(args.at, target.get("region") or "us-east-1")
    print(json.dumps(invoke(target, "on_schedule", event), indent=2, ensure_ascii=False))
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


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return int(run_demo(Path(args.stack_file)))


def _stack_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stack-file", default=".local/stack.json", help="the local stack's stack.json (default)")
    p.add_argument("--stage", help="act on the deployed stage STAGE instead of the local stack file")
    p.add_argument("--endpoint-url", help="with --stage: an AWS endpoint (e.g. the local stack)")


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
    p.set_defaults(fn=cmd_up)

    p = verbs.add_parser("down", help="stop the local stack")
    _local_options(p)
    p.set_defaults(fn=cmd_down)

    p = verbs.add_parser("run-schedule", help="run the scheduled function as EventBridge would, at a logical time")
    p.add_argument("--at", required=True, help="ISO 8601 time, e.g. 2026-12-01T02:00:00Z")
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

"""`memberpulse dlq list|redrive` against moto, with the queues of infra/template.json: what a queue
gave up on can be looked at and put back, and then it is handled (a failed opt-out is recoverable)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.adapters.member_store import DynamoMemberStore
from chalicelib.domain.model import Member
from chalicelib.handlers import inbound
from memberpulse_cli.main import main

from .conftest import REGION, AwsStack

OPT_OUT = {
    "provider": "sandbox",
    "kind": "reply",
    "event_id": "dlq-optout-1",
    "at": "2026-11-20T02:00:00Z",
    "channel": "sms",
    "sender": "+8613800138000",
    "text": "T",
    "raw": "{}",
}


def _stack_file(aws: AwsStack, tmp_path: Path) -> str:
    """A stack.json naming the queues as `memberpulse up` does (stackinfo._QUEUE_NAMES)."""
    queues = {
        "send": aws.queues["SendQueue"],
        "send_dlq": aws.queues["SendDeadLetterQueue"],
        "timers": aws.queues["TimerQueue"],
        "timers_dlq": aws.queues["TimerDeadLetterQueue"],
        "inbound": aws.queues["InboundQueue"],
        "inbound_dlq": aws.queues["InboundDeadLetterQueue"],
    }
    path = tmp_path / "stack.json"
    path.write_text(json.dumps({"endpoint_url": None, "region": REGION, "queues": queues}))
    return str(path)


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_dead_inbound_opt_out_is_listed_redriven_and_then_handled(
    aws: AwsStack, tmp_path: Path, capsys: pytest.CaptureFixture[str], lambda_context: Any
) -> None:
    DynamoMemberStore().save(Member("m-1", phone="+8613800138000"))
    # on_inbound failed it five times (say DynamoDB was down): SQS moved it to the dead-letter queue
    aws.sqs.send_message(QueueUrl=aws.queues["InboundDeadLetterQueue"], MessageBody=json.dumps(OPT_OUT))
    stack_file = _stack_file(aws, tmp_path)

    code, out, err = _cli(capsys, "dlq", "list", "--queue", "inbound", "--stack-file", stack_file)
    assert code == 0
    [dead] = json.loads(out)
    assert json.loads(dead["body"])["text"] == "T"
    assert "1 dead letters on the inbound queue" in err

    code, out, _ = _cli(capsys, "dlq", "redrive", "--queue", "inbound", "--stack-file", stack_file)
    assert code == 0 and out.strip() == "1 messages moved back to the inbound queue"
    assert aws.drain_queue(aws.queues["InboundDeadLetterQueue"]) == []

    back = aws.drain_queue(aws.queues["InboundQueue"])
    assert inbound.handle_batch(aws.sqs_event(back), lambda_context) == {"batchItemFailures": []}
    member = DynamoMemberStore().get("m-1")
    assert member is not None and member.consent.sms is False


@pytest.mark.parametrize(
    ("queue", "source", "dlq"),
    [("send", "SendQueue", "SendDeadLetterQueue"), ("timers", "TimerQueue", "TimerDeadLetterQueue")],
)
def test_send_and_timer_dead_letters_go_back_to_their_own_queue(
    aws: AwsStack, tmp_path: Path, capsys: pytest.CaptureFixture[str], queue: str, source: str, dlq: str
) -> None:
    aws.sqs.send_message(QueueUrl=aws.queues[dlq], MessageBody='{"n": 1}')
    stack_file = _stack_file(aws, tmp_path)

    code, out, _ = _cli(capsys, "dlq", "redrive", "--queue", queue, "--stack-file", stack_file)

    assert code == 0 and out.startswith("1 messages")
    assert [m["Body"] for m in aws.drain_queue(aws.queues[source])] == ['{"n": 1}']


def test_a_stack_without_that_dead_letter_queue_is_one_line(
    aws: AwsStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "stack.json"
    path.write_text(json.dumps({"endpoint_url": None, "region": REGION, "queues": {"send": aws.queues["SendQueue"]}}))

    code, _, err = _cli(capsys, "dlq", "list", "--queue", "inbound", "--stack-file", str(path))

    assert code == 1 and err.strip() == "memberpulse: the stack has no inbound dead-letter queue"

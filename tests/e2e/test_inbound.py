"""Members answer, on the deployed local stack: sandbox replies through the webhook, the inbound
queue and the on_inbound worker (issue 5 "Done when", for the sandbox provider)."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable
from typing import Any

from memberpulse_cli.client import ApiClient
from memberpulse_cli.inbound import sandbox_reply
from tests.e2e.conftest import cli


def wait_for(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(0.5)
        value = check()
    return value


def new_member(api: ApiClient, **fields: Any) -> tuple[str, str]:
    member_id = f"in-{uuid.uuid4().hex[:10]}"
    phone = f"+86139{random.randint(10_000_000, 99_999_999)}"
    api.ok("PUT", f"/v1/members/{member_id}", {"name": "回复者", "phone": phone, **fields})
    return member_id, phone


def replies(api: ApiClient, member_id: str, rule: str) -> list[dict[str, Any]]:
    return [m for m in api.messages(member_id) if m["trigger"] == rule]


def sent(api: ApiClient, member_id: str, rule: str) -> list[dict[str, Any]]:
    return [m for m in replies(api, member_id, rule) if m["status"] in ("sent", "delivered", "read")]


def test_T_turns_sms_consent_off_once_and_START_turns_it_back_on(api: ApiClient, stack: dict[str, Any]) -> None:
    member_id, phone = new_member(api, consent={"sms": True, "marketing": True})
    event_id = f"e2e-{uuid.uuid4().hex[:8]}"

    for _ in range(2):  # the provider retries: the same event twice
        _, answer = sandbox_reply(stack, phone, "T", event_id=event_id)
        assert answer.status == 200

    assert wait_for(lambda: not api.ok("GET", f"/v1/members/{member_id}")["consent"]["sms"])
    [confirmation] = wait_for(lambda: sent(api, member_id, "reply_optout"))
    assert confirmation["channel"] == "sms" and "退订" in confirmation["text"]
    time.sleep(3)  # a second handling would have landed by now
    assert len(replies(api, member_id, "reply_optout")) == 1

    _, answer = sandbox_reply(stack, phone, "START")
    assert answer.status == 200
    assert wait_for(lambda: api.ok("GET", f"/v1/members/{member_id}")["consent"]["sms"])
    assert wait_for(lambda: sent(api, member_id, "reply_optin"))


def test_an_age_and_gender_get_age_fit_picks(api: ApiClient, stack: dict[str, Any]) -> None:
    run = uuid.uuid4().hex[:6]
    api.ok(
        "PUT",
        f"/v1/products/FIT-{run}",
        {"name": f"适龄积木{run}", "age_min_months": 24, "age_max_months": 60, "gender": "any", "in_stock": True},
    )
    api.ok(
        "PUT",
        f"/v1/products/OLD-{run}",
        {"name": f"大孩航模{run}", "age_min_months": 120, "gender": "any", "in_stock": True},
    )
    member_id, _ = new_member(api, im_user_id=f"agora_{run}", consent={"im": True})

    _, answer = sandbox_reply(stack, f"agora_{run}", "3岁男孩", channel="im")
    assert answer.status == 200

    [picks] = wait_for(lambda: sent(api, member_id, "reply_recommendation"))
    assert picks["channel"] == "im"
    assert f"大孩航模{run}" not in picks["text"]
    assert "适合3岁男孩" in picks["text"]


def test_shouhou_opens_a_ticket_staff_can_list(api: ApiClient, stack: dict[str, Any], stack_file: str) -> None:
    member_id, phone = new_member(api)

    _, answer = sandbox_reply(stack, phone, "我要售后，玩具坏了")
    assert answer.status == 200

    [reply] = wait_for(lambda: sent(api, member_id, "reply_handoff"))
    done = cli("handoffs", "--stack-file", stack_file)
    tickets = [t for t in json.loads(done.stdout) if t["member_id"] == member_id]
    assert len(tickets) == 1
    assert tickets[0]["status"] == "open" and tickets[0]["text"] == "我要售后，玩具坏了"
    assert tickets[0]["ticket_id"][:7] in reply["text"]


def test_reply_cli_posts_to_the_sandbox_webhook(api: ApiClient, stack_file: str) -> None:
    member_id, phone = new_member(api)

    done = cli("reply", "--from", phone, "HELP", "--stack-file", stack_file)

    assert json.loads(done.stdout)["status"] == 200
    assert wait_for(lambda: sent(api, member_id, "reply_help"))


def test_a_forged_or_unknown_webhook_is_refused_without_a_5xx(stack: dict[str, Any]) -> None:
    url = stack["webhooks"]["sandbox"]
    wrong = ApiClient(url.rsplit("/", 1)[0] + "/not-the-token", None).call("POST", "", {"x": 1}, auth=False)
    assert wrong.status == 404
    bad = ApiClient(url, None).call("POST", "", raw=b"{not json", auth=False)
    assert bad.status == 400

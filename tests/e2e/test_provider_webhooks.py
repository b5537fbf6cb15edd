"""Providers' own webhook formats on the deployed local stack (issue 5 "Done when"): a signed Twilio
STOP, an Alibaba SmsUp "T" and a Tencent "退订" each turn that member's SMS consent off once
(replays act once) and START turns it back on; an Agora "3岁男孩" gets age-fit picks; forgeries
are refused."""

from __future__ import annotations

import hashlib
import json
import random
import time
import urllib.request
import uuid
from typing import Any
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from memberpulse_cli.client import ApiClient
from tests.e2e.test_inbound import replies, sent, wait_for


def post(url: str, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": content_type, **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def member_with_phone(api: ApiClient, phone: str, **fields: Any) -> str:
    member_id = f"pw-{uuid.uuid4().hex[:10]}"
    body = {"name": "回复者", "phone": phone, "consent": {"sms": True, "im": True, "marketing": True}, **fields}
    api.ok("PUT", f"/v1/members/{member_id}", body)
    return member_id


def sms_consent(api: ApiClient, member_id: str) -> bool:
    return bool(api.ok("GET", f"/v1/members/{member_id}")["consent"]["sms"])


def opted_out_once(api: ApiClient, member_id: str, send: Any) -> None:
    """Send the provider's opt-out twice (a provider retry): consent goes off, one confirmation."""
    for _ in range(2):
        status, _ = send()
        assert status == 200
    assert wait_for(lambda: not sms_consent(api, member_id))
    assert wait_for(lambda: sent(api, member_id, "reply_optout"))
    time.sleep(3)  # a second handling would have landed by now
    assert len(replies(api, member_id, "reply_optout")) == 1


def test_a_signed_twilio_stop_and_start(api: ApiClient, stack: dict[str, Any]) -> None:
    phone = f"+1415555{random.randint(1000, 9999)}"
    member_id = member_with_phone(api, phone, locale="en")
    url = stack["webhooks"]["twilio"]
    validator = RequestValidator(stack["secrets"]["twilio_auth_token"])

    def inbound(text: str, sid: str) -> tuple[int, str]:
        params = {"MessageSid": sid, "From": phone, "To": "+14155550000", "Body": text, "NumSegments": "1"}
        signature = validator.compute_signature(url, params)
        return post(
            url, urlencode(params).encode(), "application/x-www-form-urlencoded", {"X-Twilio-Signature": signature}
        )

    stop_sid = "SM" + uuid.uuid4().hex  # the same MessageSid twice: Twilio retrying one message
    opted_out_once(api, member_id, lambda: inbound("STOP", stop_sid))
    status, _ = inbound("START", "SM" + uuid.uuid4().hex)
    assert status == 200
    assert wait_for(lambda: sms_consent(api, member_id))

    forged = {"MessageSid": "SMforged", "From": phone, "Body": "START"}
    status, _ = post(url, urlencode(forged).encode(), "application/x-www-form-urlencoded", {"X-Twilio-Signature": "x"})
    assert status in (401, 403)


def test_an_alibaba_smsup_t(api: ApiClient, stack: dict[str, Any]) -> None:
    local = f"139{random.randint(10_000_000, 99_999_999)}"
    member_id = member_with_phone(api, "+86" + local)
    sequence = random.randint(10**8, 10**9)
    body = json.dumps(
        [
            {
                "phone_number": local,
                "content": "T",
                "send_time": "2026-11-22 10:00:00",
                "dest_code": "1",
                "sequence_id": sequence,
            }
        ]
    ).encode()

    opted_out_once(api, member_id, lambda: post(stack["webhooks"]["aliyun"], body, "application/json"))

    probe = urllib.request.Request(stack["webhooks"]["aliyun"], method="GET")
    with urllib.request.urlopen(probe, timeout=30) as answer:
        assert json.loads(answer.read())["code"] == 0


def test_a_tencent_tuiding(api: ApiClient, stack: dict[str, Any]) -> None:
    local = f"138{random.randint(10_000_000, 99_999_999)}"
    member_id = member_with_phone(api, "+86" + local)
    body = json.dumps(
        {
            "extend": "",
            "mobile": local,
            "nationcode": "86",
            "sign": "乐乐玩具",
            "text": "退订",
            "time": int(time.time()),
        }
    ).encode()

    opted_out_once(api, member_id, lambda: post(stack["webhooks"]["tencent"], body, "application/json"))


def test_an_agora_age_question_gets_age_fit_picks(api: ApiClient, stack: dict[str, Any]) -> None:
    sku = f"pw-{uuid.uuid4().hex[:6]}"
    api.ok(
        "PUT",
        f"/v1/products/{sku}",
        {
            "name": f"磁力积木{sku}",
            "category": "blocks",
            "age_min_months": 24,
            "age_max_months": 60,
            "gender": "any",
            "price": 99,
            "in_stock": True,
        },
    )
    im_user = f"u{uuid.uuid4().hex[:8]}"
    member_id = member_with_phone(api, f"+86137{random.randint(10_000_000, 99_999_999)}", im_user_id=im_user)
    secret = stack["secrets"]["agora_callback_secret"]
    call_id = uuid.uuid4().hex
    timestamp = str(int(time.time() * 1000))
    callback = {
        "callId": call_id,
        "eventType": "chat",
        "timestamp": int(timestamp),
        "chat_type": "chat",
        "from": im_user,
        "to": stack["secrets"].get("agora_sender", "store"),
        "msg_id": str(random.randint(10**15, 10**16)),
        "payload": {"bodies": [{"type": "txt", "msg": "3岁男孩"}], "ext": {}},
        "security": hashlib.md5((call_id + secret + timestamp).encode()).hexdigest(),
    }
    status, _ = post(stack["webhooks"]["agora"], json.dumps(callback).encode(), "application/json")
    assert status == 200

    [picks] = wait_for(lambda: sent(api, member_id, "reply_recommendation"), timeout=90)
    # Age-fit, in-stock picks: this product, or others an earlier test put in (the worker's
    # catalog is cached for up to five minutes, so a product added a moment ago may not show yet).
    assert picks["channel"] == "im" and picks["text"].startswith("适合3岁男孩的好物：")

    forged = {**callback, "callId": uuid.uuid4().hex}
    status, _ = post(stack["webhooks"]["agora"], json.dumps(forged).encode(), "application/json")
    assert status in (401, 403)

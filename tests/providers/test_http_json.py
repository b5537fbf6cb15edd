"""The shared JSON-over-HTTP helper: transport failures named as ProviderError codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from chalicelib.adapters.providers.http_json import MAX_RESPONSE_BYTES, get_json, post_json, retry_after_seconds
from chalicelib.ports import ProviderError
from tests.providers.stubkit import StubRequest, StubResponse, StubServer, serving


def answer(request: StubRequest) -> StubResponse:
    if request.path == "/echo":
        return StubResponse(201, json.dumps({"got": json.loads(request.body), "type": request.headers["content-type"]}))
    if request.path == "/not-json":
        return StubResponse(403, "<html>nope</html>", {"Content-Type": "text/html"})
    if request.path == "/huge":
        return StubResponse(200, b"[" + b"0," * MAX_RESPONSE_BYTES + b"0]")
    if request.path == "/close":
        return StubResponse(404, "{}", {"Content-Type": "application/json", "Connection": "close"})
    if request.path == "/date-limited":
        return StubResponse(429, "{}", {"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"})
    return StubResponse(404, json.dumps({"error": "missing"}))


@pytest.fixture(scope="module")
def server() -> Iterator[StubServer]:
    with serving(answer) as running:
        yield running


def test_posts_utf8_json_and_decodes_the_answer(server: StubServer) -> None:
    response = post_json(f"{server.url}/echo", {"msg": "你好"}, provider="p", timeout=1)
    assert response.status == 201
    assert response.data == {"got": {"msg": "你好"}, "type": "application/json; charset=utf-8"}


def test_every_status_comes_back_for_the_adapter_to_judge(server: StubServer) -> None:
    assert get_json(f"{server.url}/nowhere", provider="p", timeout=1).data == {"error": "missing"}
    not_json = get_json(f"{server.url}/not-json", provider="p", timeout=1)
    assert (not_json.status, not_json.data) == (403, None)


def test_an_oversize_answer_is_not_read_whole(server: StubServer) -> None:
    with pytest.raises(ProviderError) as caught:
        get_json(f"{server.url}/huge", provider="p", timeout=2)
    assert caught.value.code == "unavailable"


def test_a_429_comes_back_with_its_retry_after_in_seconds(server: StubServer) -> None:
    response = get_json(f"{server.url}/date-limited", provider="p", timeout=1)
    assert response.status == 429 and (response.retry_after or 0) > 0


def test_retry_after_forms() -> None:
    now = datetime(2015, 10, 21, 7, 27, 0, tzinfo=UTC)
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now) == 60.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_only_http_endpoints() -> None:
    with pytest.raises(ValueError, match="http"):
        get_json("file:///etc/passwd", provider="p", timeout=1)


def test_calls_to_one_host_reuse_one_connection(server: StubServer) -> None:
    before = len(server.requests)
    post_json(f"{server.url}/echo", {"n": 1}, provider="p", timeout=1)
    get_json(f"{server.url}/nowhere", provider="p", timeout=1)
    post_json(f"{server.url}/echo", {"n": 2}, provider="p", timeout=1)
    ports = {request.client_port for request in server.requests[before:]}
    assert len(server.requests) == before + 3 and len(ports) == 1


def test_a_connection_the_server_closed_is_replaced(server: StubServer) -> None:
    get_json(f"{server.url}/nowhere", provider="p", timeout=1)
    get_json(f"{server.url}/close", provider="p", timeout=1)  # answered with Connection: close
    assert get_json(f"{server.url}/nowhere", provider="p", timeout=1).status == 404

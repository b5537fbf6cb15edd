"""The console in a real browser (headless Chromium) against a fake API serving the console's own
files and canned §6/§7/§8 answers: every page renders at its own address, signing in from the
fragment clears it, the numbers shown are the API's, a 401 returns to sign-in, an API error is
shown, phones are masked, and the page logs no error. ``CONSOLE_SCREENSHOTS=DIR`` saves a
screenshot of each page there (``make console-screenshots`` refreshes docs/console/)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import fake_api
from tests.browser.conftest import Tab
from tests.browser.fake_api import KEY

# A whole phone number: E.164, a bare mainland mobile, or one written with spaces or dashes.
FULL_PHONE = re.compile(r"\+\d{9,15}|(?<!\d)1[3-9]\d{9}(?!\d)|1[3-9]\d[ -]\d{4}[ -]\d{4}")
PAGES = [
    ("funnel", "#/funnel", "#page-funnel"),
    ("campaign", "#/campaigns/spring", "#page-campaign"),
    ("activity", "#/activities/lego-day", "#page-activity"),
    ("messages", "#/messages", "#page-messages"),
    ("member", "#/members/m-1", "#page-member"),
    ("handoffs", "#/handoffs", "#page-handoffs"),
]


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[str, fake_api.FakeApi]]:
    with fake_api.serving() as served:
        yield served


@pytest.fixture
def base(fake: tuple[str, fake_api.FakeApi]) -> str:
    fake[1].requests.clear()
    return fake[0] + "/console"


def signed_in(tab: Tab, base: str, address: str = "#/funnel") -> Any:
    tab.page.goto(f"{base}#key={KEY}")
    tab.page.wait_for_selector("#page-funnel")
    if address != "#/funnel":
        tab.page.goto(base + address)
    return tab.page


def cells(page: Any, table: str, column: str) -> list[str]:
    return page.eval_on_selector_all(
        f"{table} td[data-col='{column}']", "tds => tds.map(td => td.dataset.value ?? td.innerText)"
    )


def texts(page: Any, table: str, column: str) -> list[str]:
    return page.eval_on_selector_all(f"{table} td[data-col='{column}']", "tds => tds.map(td => td.innerText)")


def shown_text(page: Any) -> str:
    return str(page.evaluate("document.body.innerText"))


def test_signing_in_from_the_fragment_keeps_the_key_out_of_the_address_and_history(tab: Tab, base: str) -> None:
    page = tab.page
    page.goto(f"{base}#key={KEY}")
    page.wait_for_selector("#page-funnel")
    assert page.url == f"{base}#/funnel"
    assert page.evaluate("sessionStorage.getItem('mp.key')") == KEY
    assert tab.errors() == []
    # The address with the key was replaced, not added to: one step back is the page before it.
    page.go_back()
    assert KEY not in page.url and page.url == "about:blank"


def test_the_key_goes_only_in_the_authorization_header(tab: Tab, base: str, fake: Any) -> None:
    signed_in(tab, base, "#/messages")
    tab.page.wait_for_selector("#messages-table")
    calls = [r for r in fake[1].requests if r["path"].startswith("/v1/")]
    assert calls and all(r["headers"].get("authorization") == f"Bearer {KEY}" for r in calls)
    assert not any(KEY in r["path"] + r["query"] for r in fake[1].requests)


@pytest.mark.parametrize(("name", "address", "section"), PAGES)
def test_every_page_renders_at_its_own_address_without_errors(
    tab: Tab, base: str, name: str, address: str, section: str
) -> None:
    page = signed_in(tab, base, address)
    page.wait_for_selector(section)
    assert page.query_selector(".error") is None, shown_text(page)
    assert not re.search(r"\b(null|undefined|NaN|\[object Object\])\b", shown_text(page)), shown_text(page)
    assert page.url.endswith(address)
    assert not FULL_PHONE.search(shown_text(page)), shown_text(page)
    assert tab.errors() == []
    shots = os.environ.get("CONSOLE_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)


def test_the_funnel_shows_the_apis_numbers(tab: Tab, base: str) -> None:
    page = signed_in(tab, base)
    rows = fake_api.FUNNEL["rule"]
    assert cells(page, "#funnel-table", "key") == [r["key"] for r in rows]
    for column in ("targeted", "sent", "delivered", "read", "clicked", "converted", "capped", "deferred", "revenue"):
        assert [float(v) for v in cells(page, "#funnel-table", column)] == [float(r[column]) for r in rows], column
    assert [int(v) for v in cells(page, "#funnel-table", "suppressed")] == [35, 10, 0]  # every reason counted
    converted = page.get_attribute("[data-tile='converted']", "data-value")
    assert converted == str(sum(r["converted"] for r in rows))
    # The funnel chart's bars carry the same totals
    assert page.get_attribute("svg [data-stage='delivered']", "data-value") == str(sum(r["delivered"] for r in rows))


def test_grouping_by_campaign_links_to_the_campaign(tab: Tab, base: str) -> None:
    page = signed_in(tab, base)
    page.select_option("select[name=group_by]", "campaign")
    page.click("#funnel-filters button[type=submit]")
    page.wait_for_selector("#funnel-table td[data-col='key'] a")
    assert "group_by=campaign" in page.url
    page.click("#funnel-table td[data-col='key'] a")
    page.wait_for_selector("#results-table")
    assert page.url.endswith("#/campaigns/spring")
    page.go_back()
    page.wait_for_selector("#funnel-table")
    assert cells(page, "#funnel-table", "key") == ["spring"]


def test_a_campaigns_results_are_the_apis(tab: Tab, base: str) -> None:
    page = signed_in(tab, base, "#/campaigns/spring")
    page.wait_for_selector("#lift-table")
    arms = fake_api.RESULTS["arms"]
    assert cells(page, "#results-table", "id")[-1] == "对照组"  # control last, in the page's words
    assert [int(v) for v in cells(page, "#results-table", "converted")] == [
        arms[a]["converted"] for a in ("A", "B", "control")
    ]
    assert [float(v) for v in cells(page, "#lift-table", "lift")] == [0.6, 0.11]
    assert texts(page, "#lift-table", "ci95") == ["[5.0%, 140.0%]", "[-35.0%, 70.0%]"]
    assert [float(v) for v in cells(page, "#lift-table", "p_value")] == [0.031, 0.62]
    assert texts(page, "#lift-table", "p_value") == ["0.031", "0.620"]
    assert [float(v) for v in cells(page, "#lift-table", "prob_beats_control")] == [0.978, 0.69]
    assert texts(page, "#lift-table", "prob_beats_control") == ["97.8%", "69.0%"]
    underpowered = cells(page, "#lift-table", "underpowered")
    assert "样本充足" in underpowered[0] and "样本不足" in underpowered[1] and "2,900" in underpowered[1]
    assert [int(v) for v in cells(page, "#sends-table", "sent")] == [430, 435, 0]
    assert page.get_attribute("#audience", "data-value") == "1000"


def test_an_activity_shows_seats_waitlist_offers_checkins_and_feedback(tab: Tab, base: str) -> None:
    page = signed_in(tab, base, "#/activities/lego-day")
    page.wait_for_selector("#feedback-table")
    counts = fake_api.ACTIVITY["counts"]
    for key, value in {**counts, "seats_left": fake_api.ACTIVITY["seats_left"]}.items():
        assert page.get_attribute(f"[data-tile='{key}']", "data-value") == str(value), key
    assert cells(page, "#waitlist-table", "member_id") == ["m-4", "m-5"]  # in line order
    assert "还剩" in cells(page, "#offers-table", "offer_expires_at")[0]
    assert cells(page, "#checkins-table", "member_id") == ["m-1"]
    assert page.get_attribute("#rating-average", "data-value") == "4.5"
    assert not FULL_PHONE.search(shown_text(page))  # a phone in feedback text is masked by the page


def test_the_message_log_pages_filters_and_exports(tab: Tab, base: str, fake: Any) -> None:
    page = signed_in(tab, base, "#/messages")
    page.wait_for_selector("#messages-table")
    assert cells(page, "#messages-table", "status") == ["已送达", "失败"]
    page.click("#more")
    page.wait_for_selector("#messages-table tbody tr:nth-child(3)")
    assert [r["message_id"] for p in fake_api.MESSAGES for r in p] == ["msg-3", "msg-2", "msg-1"]
    assert page.query_selector("#more") is None  # the last page
    text = shown_text(page)
    assert "13912345678" not in text and "+86*******5678" in text  # masked by the page too
    with page.expect_download() as download:
        page.click("#export")
    content = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    # Both parts in one file, the header once
    lines = [
        "created_at,message_id",
        "2026-11-21T02:00:00Z,msg-3",
        "2026-11-20T09:00:00Z,msg-2",
        "2026-11-19T09:00:00Z,msg-1",
    ]
    assert content == "\r\n".join(lines) + "\r\n"
    page.select_option("select[name=status]", "failed")
    page.click("#message-filters button[type=submit]")
    page.wait_for_url(re.compile(r"#/messages\?status=failed$"))
    page.wait_for_selector("#messages-table")
    assert any(r["query"] == "status=failed" for r in fake[1].requests if r["path"] == "/v1/messages")


def test_a_member_page_masks_the_phone_the_api_sent_whole(tab: Tab, base: str) -> None:
    page = signed_in(tab, base, "#/members/m-1")
    page.wait_for_selector("#timeline li")
    assert page.inner_text("[data-fact='phone']") == "+86*******8000"
    assert page.get_attribute("[data-fact='points'] span", "data-value") == "1234"
    assert page.eval_on_selector_all("#timeline li", "lis => lis.map(li => li.dataset.kind)") == ["message", "order"]
    page.click("#timeline #more")
    page.wait_for_selector("#timeline li:nth-child(4)")
    text = shown_text(page)
    assert not FULL_PHONE.search(text) and "+86*******9000" in text
    assert "已排队" not in text and "排队中" in text  # the status trail, in words


def test_members_are_found_by_phone_without_the_phone_in_the_address(tab: Tab, base: str) -> None:
    page = signed_in(tab, base)
    page.fill("#search-text", "138 0013 8000")
    page.press("#search-text", "Enter")
    page.wait_for_selector("#page-member")
    assert page.url.endswith("#/members/m-1")
    page.fill("#search-text", "m-1")
    page.press("#search-text", "Enter")
    page.wait_for_selector("#page-member")


def test_a_401_returns_to_sign_in_and_signing_in_again_goes_on(tab: Tab, base: str) -> None:
    page = tab.page
    page.goto(f"{base}#key=not-the-key")
    page.wait_for_selector("#page-signin .error")
    assert page.evaluate("sessionStorage.getItem('mp.key')") is None
    assert page.is_hidden("#nav")
    page.fill("#key", KEY)
    page.click("#signin button[type=submit]")
    page.wait_for_selector("#page-funnel")
    assert tab.errors("status of 401") == []


def test_an_api_error_is_shown_not_a_blank_page(tab: Tab, base: str) -> None:
    page = signed_in(tab, base, "#/campaigns/unknown")
    page.wait_for_selector("#page-campaign .error")
    assert "404" in page.inner_text("#page-campaign .error")
    page.goto(base + "#/members/m-404")
    page.wait_for_selector("#page-member .error")
    assert "member m-404 not found" in page.inner_text("#page-member .error")
    assert tab.errors("status of 404") == []


def test_the_language_switches_to_english_and_back(tab: Tab, base: str) -> None:
    page = signed_in(tab, base)
    assert page.inner_text("nav a[data-route='messages']") == "消息记录"
    page.click("#lang")
    page.wait_for_selector("html[lang='en'] #page-funnel")
    assert page.inner_text("nav a[data-route='messages']") == "Message log"
    assert "Targeted" in page.inner_text("#funnel-table thead")
    page.click("#lang")
    page.wait_for_selector("html[lang='zh-CN'] #page-funnel")


def test_every_page_reads_on_a_phone(browser: Any, base: str) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(f"{base}#key={KEY}")
        page.wait_for_selector("#page-funnel")
        for name, address, section in PAGES:
            page.goto(base + address)
            page.wait_for_selector(section)
            # Nothing wider than the screen but the tables, which scroll inside their own box.
            assert page.evaluate("document.documentElement.scrollWidth") <= 375, name
            if os.environ.get("CONSOLE_SCREENSHOTS") and name in ("funnel", "member"):
                page.screenshot(path=str(Path(os.environ["CONSOLE_SCREENSHOTS"]) / f"{name}-phone.png"), full_page=True)
    finally:
        context.close()

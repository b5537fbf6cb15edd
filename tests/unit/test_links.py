"""Click tracking: signed short tokens, link rewriting, the click tracker, and rewriting at planning."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.links import TOKEN_CHARS, make_token, rewrite_links, verify_token
from chalicelib.domain.rulebook import parse_rule_book
from chalicelib.domain.triggers import Trigger
from chalicelib.services.clicks import ClickTracker
from tests.fakes import NOW, FakeAdapters, FakeLinkStore, fake_app, member

SECRET = "k" * 64
BASE = "https://api.example.com/api"


class TestTokens:
    def test_given_a_token_when_verified_with_its_secret_then_true_and_with_another_false(self) -> None:
        token = make_token("m1", 0, "https://shop.example.com/x", SECRET)

        assert len(token) == TOKEN_CHARS
        assert verify_token(token, SECRET)
        assert not verify_token(token, "other-secret")
        assert not verify_token(token, "")

    def test_given_one_changed_character_when_verified_then_false(self) -> None:
        token = make_token("m1", 0, "https://shop.example.com/x", SECRET)
        flipped = token[:3] + ("A" if token[3] != "A" else "B") + token[4:]

        assert not verify_token(flipped, SECRET)

    @given(st.text(max_size=40))
    def test_given_any_string_when_verified_then_false_and_no_error(self, token: str) -> None:
        assert verify_token(token, SECRET) is False

    def test_given_the_same_message_and_link_when_made_twice_then_the_same_token(self) -> None:
        assert make_token("m1", 0, "https://a.example", SECRET) == make_token("m1", 0, "https://a.example", SECRET)
        assert make_token("m1", 0, "https://a.example", SECRET) != make_token("m2", 0, "https://a.example", SECRET)


class TestRewrite:
    def test_given_links_in_a_text_when_rewritten_then_each_becomes_a_tracked_link_and_punctuation_stays(self) -> None:
        text, links = rewrite_links(
            "新品：https://shop.example.com/p/1?x=2。再看 http://b.example/q.", "m1", SECRET, BASE
        )

        assert [link.target for link in links] == ["https://shop.example.com/p/1?x=2", "http://b.example/q"]
        assert text == f"新品：{BASE}/r/{links[0].token}。再看 {BASE}/r/{links[1].token}."
        assert all(link.message_id == "m1" for link in links)

    def test_given_no_secret_or_base_when_rewritten_then_nothing_changes(self) -> None:
        assert rewrite_links("see https://a.example", "m1", "", BASE) == ("see https://a.example", [])
        assert rewrite_links("see https://a.example", "m1", SECRET, "") == ("see https://a.example", [])

    def test_given_an_already_tracked_link_when_rewritten_then_it_is_left_alone(self) -> None:
        text = f"{BASE}/r/abcdefghijklmnopqrstu"
        assert rewrite_links(text, "m1", SECRET, BASE) == (text, [])

    @given(st.text(max_size=200))
    def test_given_any_text_when_rewritten_then_no_error_and_every_link_verifies(self, text: str) -> None:
        out, links = rewrite_links(text, "m1", SECRET, BASE)
        assert all(verify_token(link.token, SECRET) for link in links)
        if not links:
            assert out == text


class TestTracker:
    def test_given_a_stored_link_when_clicked_then_the_target_and_the_click_is_counted(self) -> None:
        store = FakeLinkStore()
        tracker = ClickTracker(store, SECRET, BASE)
        batch = tracker.batch()
        batch.shorten("m1", "go https://a.example/x")
        batch.save(NOW)
        [token] = store.links

        assert tracker.click(token, NOW) == "https://a.example/x"
        assert store.clicks[token] == [NOW]

    def test_given_a_forged_or_unknown_token_when_clicked_then_none_and_no_lookup(self) -> None:
        store = FakeLinkStore()
        tracker = ClickTracker(store, SECRET, BASE)

        assert tracker.click("x" * TOKEN_CHARS, NOW) is None
        assert tracker.click(make_token("m1", 0, "https://a.example", SECRET), NOW) is None  # signed, never stored
        assert store.clicks == {}


RULES = """
[store]
name = "乐乐玩具"
tiers = ["regular"]

[rules.new_arrivals]
class = "transactional"
channels = ["sms"]

[rules.new_arrivals.templates]
zh-CN = "新品到店 https://shop.example.com/new"
"""


class TestPlanning:
    def test_given_a_tracker_when_a_message_with_a_link_is_planned_then_its_text_has_the_tracked_link_stored_first(
        self,
    ) -> None:
        fakes = FakeAdapters(secrets={"click_signing_key": SECRET})
        links = fakes.links
        service = fake_app(fakes, parse_rule_book(RULES), public_api_url=BASE).lifecycle

        [message] = service.fire([Trigger("new_arrivals", "m-1", "x", NOW)], member("m-1"), NOW)

        [(token, link)] = links.links.items()
        assert message.text == f"新品到店 {BASE}/r/{token}"
        assert link.message_id == message.message_id and link.target == "https://shop.example.com/new"
        assert message.parts == 1

    def test_given_a_tracker_without_a_base_url_when_planned_then_links_stay_as_written(self) -> None:
        fakes = FakeAdapters(secrets={"click_signing_key": SECRET})
        service = fake_app(fakes, parse_rule_book(RULES), public_api_url="").lifecycle

        [message] = service.fire([Trigger("new_arrivals", "m-1", "x", NOW)], member("m-1"), NOW)

        assert message.text == "新品到店 https://shop.example.com/new"

"""Which open context a reply answers (``domain/reply_context.py``): a bare digit both feedback
and a poll could take goes to the one asked last; an unambiguous reply to the one it answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.reply_context import Asked, OpenContext, answered

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
EARLIER, LATER = NOW - timedelta(hours=3), NOW - timedelta(hours=1)


def feedback(asked_at: datetime, open_until: datetime = NOW + timedelta(hours=70)) -> OpenContext:
    return OpenContext(Asked.FEEDBACK, "sat-lego", asked_at, open_until)


def poll(asked_at: datetime, closes_at: datetime = NOW + timedelta(days=2), ref: str = "c1") -> OpenContext:
    return OpenContext(Asked.POLL, ref, asked_at, closes_at, frozenset({"1", "2"}))


CASES = [
    # (why, text (or text and whether a picture came with it), contexts, who answers: (kind, ref) or None)
    ("poll asked after feedback: a digit is a vote", "1", [feedback(EARLIER), poll(LATER)], (Asked.POLL, "c1")),
    (
        "feedback asked after poll: a digit is a rating",
        "1",
        [feedback(LATER), poll(EARLIER)],
        (Asked.FEEDBACK, "sat-lego"),
    ),
    ("the order given does not matter", "2", [poll(LATER), feedback(EARLIER)], (Asked.POLL, "c1")),
    ("full-width digit, poll later", "２", [feedback(EARLIER), poll(LATER)], (Asked.POLL, "c1")),
    ("a rating with words is feedback", "1 太好玩了", [feedback(EARLIER), poll(LATER)], (Asked.FEEDBACK, "sat-lego")),
    ("stars are feedback", "⭐⭐", [feedback(EARLIER), poll(LATER)], (Asked.FEEDBACK, "sat-lego")),
    ("1分 is a rating", "1分", [feedback(EARLIER), poll(LATER)], (Asked.FEEDBACK, "sat-lego")),
    ("a digit the poll lacks is a rating", "4", [feedback(EARLIER), poll(LATER)], (Asked.FEEDBACK, "sat-lego")),
    ("投2 is a vote", "投2", [feedback(LATER), poll(EARLIER)], (Asked.POLL, "c1")),
    ("2号 is a vote", "2号", [feedback(LATER), poll(EARLIER)], (Asked.POLL, "c1")),
    (
        "a closed poll does not compete",
        "1",
        [feedback(EARLIER), poll(LATER, NOW - timedelta(minutes=1))],
        (Asked.FEEDBACK, "sat-lego"),
    ),
    (
        "feedback past its window does not compete",
        "1",
        [feedback(LATER, NOW - timedelta(minutes=1)), poll(EARLIER)],
        (Asked.POLL, "c1"),
    ),
    (
        "feedback not asked yet does not compete",
        "1",
        [feedback(NOW + timedelta(minutes=30)), poll(EARLIER)],
        (Asked.POLL, "c1"),
    ),
    (
        "of two polls, the one asked last",
        "1",
        [poll(EARLIER, ref="c1"), feedback(EARLIER), poll(LATER, ref="c2")],
        (Asked.POLL, "c2"),
    ),
    ("words are nobody's answer here", "好玩", [feedback(EARLIER), poll(LATER)], None),
    ("a digit that counts something else", "3岁", [feedback(EARLIER), poll(LATER)], None),
    ("nothing open", "1", [], None),
    ("a digit with a picture is feedback", ("1", True), [feedback(EARLIER), poll(LATER)], (Asked.FEEDBACK, "sat-lego")),
    ("a tie goes to the first given", "1", [feedback(LATER), poll(LATER)], (Asked.FEEDBACK, "sat-lego")),
]


@pytest.mark.parametrize(("why", "text", "contexts", "expected"), CASES, ids=[c[0] for c in CASES])
def test_which_open_context_a_reply_answers(
    why: str, text: str | tuple[str, bool], contexts: list[OpenContext], expected: tuple[Asked, str] | None
) -> None:
    written, with_media = text if isinstance(text, tuple) else (text, False)
    found = answered(written, contexts, NOW, with_media)
    assert (None if found is None else (found.asked, found.ref)) == expected, why

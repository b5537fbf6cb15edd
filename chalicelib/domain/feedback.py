"""What a member's answer to "how was it?" (``activity_feedback``) says: a rating (a digit 1–5, or
1–5 stars) and/or a few words, and/or an image. Pure.

"5 太好玩了" → rating 5, text "太好玩了"; "⭐⭐⭐⭐" → 4; "好玩" → text only. A digit that counts
something else ("3岁男孩", "2个") is not a rating."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from datetime import datetime

from .activities import Feedback

MAX_TEXT = 500
MAX_MEDIA = 5
STARS = "⭐★🌟"
# A leading 1–5 is a rating unless a unit of age, count or money follows it.
_RATING = re.compile(
    r"^\s*([1-5])(?![0-9.,岁歲个個月周週天年块塊元号號点點位次])\s*(?:分|星|颗星|顆星|stars?\b|/\s*5)?\s*"
)
_STARS = re.compile(rf"^\s*([{STARS}](?:\s*[{STARS}])*)\s*")


def parse_feedback(text: str) -> Feedback:
    """The rating and words of a reply (either may be missing; both missing: an empty Feedback)."""
    clean = unicodedata.normalize("NFKC", text or "").replace("\ufe0f", "").strip()
    rating: int | None = None
    match = _STARS.match(clean)
    if match:
        count = sum(1 for ch in match.group(1) if ch in STARS)
        if 1 <= count <= 5:
            rating, clean = count, clean[match.end() :]
    else:
        match = _RATING.match(clean)
        if match:
            rating, clean = int(match.group(1)), clean[match.end() :]
    words = clean.strip(" \t\r\n,，.。!！:：-—~～")
    return Feedback(rating=rating, text=words[:MAX_TEXT] or None)


def merge_feedback(old: Feedback | None, new: Feedback, media: tuple[str, ...], at: datetime) -> Feedback:
    """A later message adds to what the member already said: a new rating replaces the old one,
    words and images are added."""
    base = old or Feedback()
    text = "\n".join(t for t in (base.text, new.text) if t) or None
    images = tuple(dict.fromkeys((*base.media, *media)))[:MAX_MEDIA]
    return replace(
        base,
        rating=new.rating if new.rating is not None else base.rating,
        text=text[:MAX_TEXT] if text else None,
        media=images,
        at=at,
    )

"""How members write what a campaign asks for: its reply keyword (回复'团圆'领取) and a poll vote
("1", "投2", "选 2号", "vote 1"). Pure."""

from __future__ import annotations

import re
import unicodedata

_QUOTES = "'\"“”‘’「」『』《》【】()（）[] "
_END = "!！。.~～?？"
_VOTE = re.compile(r"^(?:投票|投|选|選|vote|option)?\s*#?([1-9])(?:号|號|票)?$")


def normalize(text: str) -> str:
    """As members write a keyword: full-width folded, case folded, quotes and end marks dropped."""
    folded = unicodedata.normalize("NFKC", text).casefold().strip()
    folded = folded.strip(_QUOTES).rstrip(_END).strip(_QUOTES)
    return re.sub(r"\s+", " ", folded)


def vote_choice(text: str) -> str | None:
    """The poll option ("1"–"9") the reply votes for, if it is written as a vote."""
    match = _VOTE.match(normalize(text))
    return match.group(1) if match else None

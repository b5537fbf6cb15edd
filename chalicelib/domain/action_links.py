"""Signed links a member taps instead of replying (register, cancel, claim an offered seat): pure.

``{base}/a/{activity_id}/{token}``: the token is the action's letter, an opaque reference to the
member (an HMAC of their id: a member id may be a phone number, and a link may be forwarded) and a
truncated HMAC-SHA256 over all three. The API answers with a small page (``handlers/action_links``):
a GET only shows what the button will do (link previews never act), the button POSTs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

ACTIONS = {"r": "register", "c": "cancel", "k": "claim"}
LETTER = {name: letter for letter, name in ACTIONS.items()}
REF_CHARS = 10  # 60 bits
SIG_CHARS = 11  # 64 bits
_TOKEN = re.compile(rf"[rck][A-Za-z0-9_-]{{{REF_CHARS + SIG_CHARS}}}")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def member_ref(member_id: str, secret: str) -> str:
    """The member's opaque reference in links (the same in every link of theirs)."""
    return _b64(hmac.new(secret.encode(), f"member|{member_id}".encode(), hashlib.sha256).digest())[:REF_CHARS]


def _sign(letter: str, activity_id: str, ref: str, secret: str) -> str:
    mac = hmac.new(secret.encode(), f"{letter}|{activity_id}|{ref}".encode(), hashlib.sha256).digest()
    return _b64(mac)[:SIG_CHARS]


@dataclass(frozen=True)
class ActionToken:
    action: str  # register / cancel / claim
    activity_id: str
    ref: str  # the member's reference: find the member among the activity's invited or registered


def make_token(action: str, activity_id: str, member_id: str, secret: str) -> str:
    letter = LETTER[action]
    ref = member_ref(member_id, secret)
    return letter + ref + _sign(letter, activity_id, ref, secret)


def read_token(activity_id: str, token: str, secret: str) -> ActionToken | None:
    """The action a genuine token stands for (constant-time check); None for anything else."""
    if not secret or not isinstance(token, str) or not _TOKEN.fullmatch(token):
        return None
    letter, ref, given = token[0], token[1 : 1 + REF_CHARS], token[1 + REF_CHARS :]
    if not hmac.compare_digest(given.encode(), _sign(letter, activity_id, ref, secret).encode()):
        return None
    return ActionToken(ACTIONS[letter], activity_id, ref)


@dataclass(frozen=True)
class ActionLinks:
    """Makes the links of one store: its public API URL and signing key (no links without both)."""

    base_url: str
    secret: str

    @property
    def enabled(self) -> bool:
        return bool(self.base_url and self.secret)

    def url(self, action: str, activity_id: str, member_id: str) -> str | None:
        if not self.enabled:
            return None
        token = make_token(action, activity_id, member_id, self.secret)
        return f"{self.base_url.rstrip('/')}/a/{activity_id}/{token}"

"""Phone numbers: normalise any common form to E.164, and mask for logs."""

from __future__ import annotations

import re

import phonenumbers

# E.164 numbers, and bare mainland mobile numbers (11 digits starting 13–19), inside any text.
_PHONE_IN_TEXT = re.compile(r"(?<![\w+])(?:\+\d{8,15}|1[3-9]\d{9})(?!\d)")


def to_e164(raw: str, default_region: str) -> str:
    """``'138 0013 8000'`` (region CN) → ``'+8613800138000'``. Raises ``ValueError`` when not a valid number."""
    text = raw.strip()
    if not text:
        raise ValueError("empty phone number")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else default_region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {exc}") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def mask(phone: str | None) -> str:
    """``+8613800138000`` → ``+86*******8000``: country code and last four digits, never more."""
    if not phone:
        return ""
    if len(phone) <= 8:
        return "*" * len(phone)
    try:
        head = "+" + str(phonenumbers.parse(phone, None).country_code)
    except phonenumbers.NumberParseException:
        head = ""
    hidden = len(phone) - len(head) - 4
    if hidden < 1:
        return "*" * len(phone)
    return head + "*" * hidden + phone[-4:]


def mask_phones_in(text: str) -> str:
    """Every phone number in ``text`` masked (E.164, and bare mainland mobiles taken as +86): for
    log lines and the raw provider payloads the inbound log keeps."""
    return _PHONE_IN_TEXT.sub(lambda m: mask(m.group(0) if m.group(0).startswith("+") else "+86" + m.group(0)), text)


def mask_id(value: str | None) -> str:
    """An IM user id (or any handle) masked: its first two and last two characters, never more."""
    if not value:
        return ""
    if len(value) <= 6:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]

"""Phone numbers: normalise any common form to E.164, and mask for logs."""

from __future__ import annotations

import phonenumbers


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
    head = _country_code(phone)
    hidden = len(phone) - len(head) - 4
    if hidden < 1:
        return "*" * len(phone)
    return head + "*" * hidden + phone[-4:]


def _country_code(phone: str) -> str:
    """``+86`` of ``+8613800138000``: country codes are prefix-free, so the first 1–3 digits that are
    one are it (a table look-up: masking runs on every send's log line); "" without a ``+``."""
    if phone.startswith("+"):
        for length in (1, 2, 3):
            code = phone[1 : 1 + length]
            if code.isdigit() and int(code) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                return "+" + code
    return ""

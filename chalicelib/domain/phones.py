"""Phone numbers: normalise any common form to E.164, say whether a number can take an SMS, and
mask for logs. (``phonenumbers``; the lighter ``phonenumberslite`` has the same API and import name.
It is imported when a number is first parsed: a function that never parses one — the schedule, a
product change — does not load it.)"""

from __future__ import annotations

import re
from functools import cache


@cache
def _no_sms() -> dict[int, str]:
    """Number types that cannot receive an SMS, and how to say so. Mobiles, numbers that may be
    mobile (the US and Canada do not tell), VoIP, personal numbers and types the metadata does not
    know are given the benefit of the doubt: the provider's answer decides for those."""
    from phonenumbers import PhoneNumberType

    return {
        PhoneNumberType.FIXED_LINE: "a fixed line cannot receive SMS",
        PhoneNumberType.TOLL_FREE: "a toll-free number cannot receive SMS",
        PhoneNumberType.PREMIUM_RATE: "a premium-rate number cannot receive SMS",
        PhoneNumberType.SHARED_COST: "a shared-cost number (such as China's 400) cannot receive SMS",
        PhoneNumberType.UAN: "a universal access (company) number cannot receive SMS",
        PhoneNumberType.VOICEMAIL: "a voicemail access number cannot receive SMS",
        PhoneNumberType.PAGER: "a pager cannot receive SMS",
    }


def to_e164(raw: str, default_region: str) -> str:
    """``'138 0013 8000'`` (region CN) → ``'+8613800138000'``. Raises ``ValueError`` when not a
    valid number, or when the text holds more than one ("13800138000;13900139000", "138…, 139…",
    "138… / 139…"): which one was meant is the sender's to say, not ours to guess."""
    import phonenumbers

    text = raw.strip()
    if not text:
        raise ValueError("empty phone number")
    if text.startswith("00"):
        text = "+" + text[2:]
    region = None if text.startswith("+") else default_region
    found = list(phonenumbers.PhoneNumberMatcher(text, region or "ZZ", leniency=phonenumbers.Leniency.POSSIBLE))
    if len(found) > 1:
        raise ValueError(f"holds more than one phone number ({len(found)}): give one")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {exc}") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def sms_capable(e164: str) -> str | None:
    """Why an SMS cannot go to this number (a fixed line, China's 400/800, toll-free, premium …),
    or None when it can. The number stays on the member's profile either way."""
    import phonenumbers

    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return "not a phone number: cannot receive SMS"
    return _no_sms().get(phonenumbers.number_type(parsed))


# A phone number written inside text: an international number (+ and 8–15 digits, a space or a dash
# allowed between digits) or a mainland mobile (11 digits from 13–19, as 13800138000, 138 0013 8000
# or 138-0013-8000). Not next to other ASCII letters or digits (an order id), but right after or
# before Chinese text ("请致电13800138000"), which Python's \w would have counted as a word.
_PHONE_IN_TEXT = re.compile(r"(?<![0-9A-Za-z+])(?:\+\d(?:[ -]?\d){7,14}|1[3-9]\d(?:[ -]?\d{4}){2})(?![0-9A-Za-z])")


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
        import phonenumbers  # on first use: a function that never masks a number never loads it

        for length in (1, 2, 3):
            code = phone[1 : 1 + length]
            if code.isdigit() and int(code) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                return "+" + code
    return ""


def mask_phones_in(text: str) -> str:
    """Every phone number written in ``text`` masked as :func:`mask` does (a bare mainland mobile
    taken as +86): for log lines, message texts and tickets shown to staff."""

    def masked(found: re.Match[str]) -> str:
        digits = re.sub(r"[ -]", "", found.group(0))
        return mask(digits if digits.startswith("+") else "+86" + digits)

    return _PHONE_IN_TEXT.sub(masked, text)


def mask_id(value: str | None) -> str:
    """An IM user id (or any handle) masked: its first two and last two characters, never more."""
    if not value:
        return ""
    if len(value) <= 6:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]

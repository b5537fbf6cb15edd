"""Phone numbers: normalise any common form to E.164, say whether a number can take an SMS, and
mask for logs. (``phonenumbers``; the lighter ``phonenumberslite`` has the same API and import name.
It is imported when a number is first parsed: a function that never parses one — the schedule, a
product change — does not load it.)"""

from __future__ import annotations

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


def mask(phone: str | None) -> str:
    """``+8613800138000`` → ``+86*******8000``: country code and last four digits, never more."""
    if not phone:
        return ""
    if len(phone) <= 8:
        return "*" * len(phone)
    import phonenumbers

    try:
        head = "+" + str(phonenumbers.parse(phone, None).country_code)
    except phonenumbers.NumberParseException:
        head = ""
    hidden = len(phone) - len(head) - 4
    if hidden < 1:
        return "*" * len(phone)
    return head + "*" * hidden + phone[-4:]

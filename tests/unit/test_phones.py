"""Phone numbers: any common form → E.164; masking for logs."""

from __future__ import annotations

import re

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.phones import mask, mask_phones_in, to_e164


@pytest.mark.parametrize(
    "raw",
    ["138 0013 8000", "13800138000", "+86 138-0013-8000", "008613800138000", "+8613800138000", " 138-0013-8000 "],
)
def test_mainland_mobile_in_any_common_form_is_normalised(raw: str) -> None:
    # Given a mainland mobile number written as customers and clerks type it, default region CN
    # Then it becomes E.164
    assert to_e164(raw, "CN") == "+8613800138000"


def test_a_number_with_its_own_country_code_ignores_the_default_region() -> None:
    assert to_e164("+1 650-253-0000", "CN") == "+16502530000"
    assert to_e164("(650) 253-0000", "US") == "+16502530000"
    assert to_e164("0085291234567", "CN") == "+85291234567"


@pytest.mark.parametrize(
    "raw", ["", "   ", "12345", "abc", "+86 138 0013 800", "138001380001", "+86", "00", "+0 123456789", "1" * 300]
)
def test_invalid_numbers_raise_value_error(raw: str) -> None:
    with pytest.raises(ValueError):
        to_e164(raw, "CN")


def test_mask_keeps_the_last_four_digits() -> None:
    assert mask("+8613800138000").endswith("8000")
    assert "13800138000" not in mask("+8613800138000")


@pytest.mark.parametrize(
    "phone", ["+8613800138000", "+14155550123", "+85291234567", "+886912345678", "+4915112345678", "+35312345678"]
)
def test_mask_shows_the_country_code_as_phonenumbers_reads_it(phone: str) -> None:
    code = phonenumbers.parse(phone, None).country_code
    assert mask(phone) == f"+{code}" + "*" * (len(phone) - len(str(code)) - 5) + phone[-4:]


def test_mask_without_a_country_code_hides_all_but_the_last_four() -> None:
    assert mask("13800138000") == "*******8000"


def test_mask_of_nothing_and_of_short_values() -> None:
    assert mask(None) == ""
    assert mask("") == ""
    assert mask("+861234") == "*******"
    assert mask("12345678") == "********"


def _revealed_digits(masked: str) -> str:
    return re.sub(r"\D", "", masked)


@pytest.mark.parametrize("phone", ["+8613800138000", "+16502530000", "+442079460000", "+85291234567"])
def test_mask_reveals_at_most_the_country_code_and_the_last_four_digits(phone: str) -> None:
    # Given an E.164 number
    country_code = str(phonenumbers.parse(phone).country_code)
    # When it is masked
    masked = mask(phone)
    # Then nothing but the country prefix and the last 4 digits can be read from it
    assert masked.endswith(phone[-4:])
    assert len(_revealed_digits(masked)) <= len(country_code) + 4, masked


@settings(max_examples=200, deadline=None, database=None, derandomize=True)
@given(st.from_regex(r"\+[1-9]\d{7,14}", fullmatch=True))
def test_mask_never_shows_the_whole_number(phone: str) -> None:
    masked = mask(phone)
    assert phone not in masked
    assert masked.endswith(phone[-4:])
    assert "*" in masked


# -- numbers that cannot take an SMS, fields with two numbers ----------------------------------------

from chalicelib.domain.phones import sms_capable  # noqa: E402


@pytest.mark.parametrize(
    "phone",
    ["+8613800138000", "+14155550123", "+16502530000", "+85291234567", "+447911123456", "+886912345678"],
)
def test_mobiles_and_numbers_that_may_be_mobile_can_receive_sms(phone: str) -> None:
    assert sms_capable(phone) is None


@pytest.mark.parametrize(
    ("phone", "why"),
    [
        ("+861065529988", "fixed line"),  # Beijing landline
        ("+442079460958", "fixed line"),  # London landline
        ("+864008208820", "400"),  # China 400 (shared cost)
        ("+868008208820", "toll-free"),  # China 800
        ("+18005550199", "toll-free"),
        ("+19005550199", "premium"),
        ("not a number", "not a phone number"),
    ],
)
def test_numbers_that_cannot_receive_sms_say_why(phone: str, why: str) -> None:
    reason = sms_capable(phone)
    assert reason is not None and why in reason and "SMS" in reason


@pytest.mark.parametrize(
    "raw",
    ["13800138000;13900139000", "138 0013 8000, 139 0013 9000", "13800138000 / 13900139000",
     "13800138000 13900139000", "13800138000或13900139000", "+8613800138000，+8613900139000"],
)  # fmt: skip
def test_a_field_with_two_numbers_is_refused_not_read_as_the_first(raw: str) -> None:
    with pytest.raises(ValueError, match="more than one phone number"):
        to_e164(raw, "CN")


def test_an_extension_is_still_one_number() -> None:
    assert to_e164("138-0013-8000 ext. 12", "CN") == "+8613800138000"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("请致电13800138000谢谢", "请致电+86*******8000谢谢"),  # right next to Chinese text
        ("138 0013 8000 / 138-0013-8000", "+86*******8000 / +86*******8000"),
        ("call +1 415 555 0003.", "call +1******0003."),
        ("+8613800138000,+8613900139000", "+86*******8000,+86*******9000"),
        ('{"phone": "+8613800138000"}', '{"phone": "+86*******8000"}'),
    ],
)
def test_phone_numbers_in_text_are_masked_wherever_they_stand(text: str, shown: str) -> None:
    assert mask_phones_in(text) == shown


@pytest.mark.parametrize(
    "text", ["2026-12-01 10:00", "订单20261122001", "order A13800138000", "code 123456", "1732262400123"]
)
def test_dates_order_ids_and_codes_are_left_alone(text: str) -> None:
    assert mask_phones_in(text) == text

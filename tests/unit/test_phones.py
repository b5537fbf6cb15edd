"""Phone numbers: any common form → E.164; masking for logs."""

from __future__ import annotations

import re

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.phones import mask, to_e164


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

"""SMS parts: which rules count a text for a destination number, and how many billed parts it makes.

Decided here, once, for planning, the rule loader's length check, the sandbox and every SMS
provider adapter (so they all count the same text to the same number the same way):

``sms_regime(phone)`` — the destination decides:

- **China domestic** (``+86``): every character counts 1 and the 【signature】 the platform adds
  (e.g. 【乐乐玩具】, brackets included) counts too; one part up to 70 characters, then 67 per
  part; at most 500 characters, signature included.
- **International** (any other number): GSM-7 when every character is in the GSM 03.38 alphabet
  (160 septets in one part, 153 per part when split; the extension characters ``| ^ € { } [ ] ~ \\``
  and form feed take an escape septet, so two), else UCS-2 (70 UTF-16 units, then 67; characters
  outside the BMP, e.g. emoji, take two units). At most 1,600 characters (Twilio's and AWS's limit).

International texts are cut the way Twilio's message segment calculator
(github.com/TwilioDevEd/message-segment-calculator, ``SegmentedMessage``) cuts them: a message
is a sequence of grapheme clusters; if all of it fits one part's 140 octets it is one part, else
each part holds 140 octets less a 6-octet user data header and a cluster that does not fit whole
moves to the next part. So an escape pair (``€`` = ESC + e) or a surrogate pair or an emoji
cluster (👍🏽, 🏳️‍🌈) is never split across parts, and a text can take one part more than its units
divided by 153 or 67 (``"a" * 152 + "€" + "a" * 152`` is 306 septets but three parts). As in the
calculator, ``"\\r\\n"`` counts as two characters. One thing the calculator leaves open: a single
cluster longer than a whole part (dozens of combining marks) is cut between its code points.

China domestic parts are counted, not cut: the platform bills ``ceil(chars / 67)`` above 70.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import regex

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("|^€{}[]~\\\f")
SEGMENT_OCTETS = 140  # 1,120 bits
HEADER_OCTETS = 6  # the concatenation header in every part of a split message


@dataclass(frozen=True)
class SmsRegime:
    """The counting rules for one kind of destination."""

    name: str  # "china_domestic" | "international"
    signed: bool  # the platform's 【signature】 counts in the text
    max_chars: int  # the longest text the platforms take (signature included where signed)


CHINA_DOMESTIC = SmsRegime("china_domestic", signed=True, max_chars=500)
INTERNATIONAL = SmsRegime("international", signed=False, max_chars=1600)
REGIMES = (CHINA_DOMESTIC, INTERNATIONAL)
CHINA_SINGLE, CHINA_PER_PART = 70, 67


@cache
def _grapheme() -> regex.Pattern[str]:
    """Grapheme clusters (``regex``'s ``\\X``), compiled — and ``regex`` imported — when text is first counted."""
    import regex

    return regex.compile(r"\X")


def sms_regime(phone: str | None) -> SmsRegime:
    """The regime for a destination number in E.164. ``+86`` (mainland China; country codes are
    prefix-free, so no other country starts so) is China domestic; Hong Kong (+852), Macau (+853),
    Taiwan (+886) and every other country are international. No number at all (a member without a
    phone, whose SMS will not go) is counted as China domestic, the default region of the stores
    this ships for."""
    if phone is None or phone.startswith("+86"):
        return CHINA_DOMESTIC
    return INTERNATIONAL


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def sms_chars(text: str, regime: SmsRegime, signature: str = "") -> int:
    """Characters as the regime's length limit counts them (China: the signature included)."""
    return len(signature) + len(text) if regime.signed else len(text)


def fits(text: str, regime: SmsRegime, signature: str = "") -> bool:
    """Within the longest text the platforms of this regime accept."""
    return sms_chars(text, regime, signature) <= regime.max_chars


def split_parts(text: str, regime: SmsRegime, signature: str = "") -> list[str]:
    """The text as it is billed, part by part (China: the signed text in chunks of 67 characters)."""
    if regime.signed:
        signed = signature + text
        if len(signed) <= CHINA_SINGLE:
            return [signed]
        return [signed[i : i + CHINA_PER_PART] for i in range(0, len(signed), CHINA_PER_PART)]
    return _segment(text)


def count_parts(text: str, regime: SmsRegime, signature: str = "") -> int:
    """Number of billed parts of ``text`` to a number of ``regime``; ``signature`` (``【乐乐玩具】``)
    counts only where the platform adds it (China domestic)."""
    if regime.signed:
        chars = sms_chars(text, regime, signature)
        return 1 if chars <= CHINA_SINGLE else -(-chars // CHINA_PER_PART)
    return len(_segment(text))


def parts_to(phone: str | None, text: str, signature: str = "") -> int:
    """``count_parts`` under the regime of the destination ``phone``: what every sender calls."""
    return count_parts(text, sms_regime(phone), signature)


# -- international: GSM-7 / UCS-2, cut as Twilio's segment calculator cuts ---------------------------


def _graphemes(text: str) -> list[str]:
    # The calculator counts "\r\n" (one grapheme cluster) as two characters.
    return [piece for cluster in _grapheme().findall(text) for piece in (cluster if cluster == "\r\n" else [cluster])]


def _segment(text: str) -> list[str]:
    clusters = _graphemes(text)
    gsm = all(len(c) == 1 and (c in GSM7_BASIC or c in GSM7_EXTENSION) for c in clusters)
    bits = 7 if gsm else 16

    def units(cluster: str) -> int:
        if gsm:
            return 2 if cluster in GSM7_EXTENSION else 1
        return len(cluster.encode("utf-16-le")) // 2

    single = SEGMENT_OCTETS * 8 // bits  # 160 septets or 70 UTF-16 units
    if sum(units(c) for c in clusters) <= single:
        return ["".join(clusters)]
    per_part = (SEGMENT_OCTETS - HEADER_OCTETS) * 8 // bits  # 153 or 67
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for cluster in clusters:
        # A cluster longer than a whole part (only runs of combining marks get there) is cut
        # between code points; anything else moves whole to the next part.
        pieces = list(cluster) if units(cluster) > per_part else [cluster]
        for piece in pieces:
            size = units(piece)
            if used + size > per_part:
                parts.append("".join(current))
                current, used = [], 0
            current.append(piece)
            used += size
    parts.append("".join(current))
    return parts

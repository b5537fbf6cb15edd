"""SMS length in parts, as carriers count them.

GSM-7: 160 characters in one part, 153 per part when split; the extension characters count twice.
Anything outside GSM-7 switches the whole text to UCS-2: 70, then 67 per part (characters outside the
BMP, e.g. emoji, take two UTF-16 units). China domestic SMS counts every character as one, the
【签名】 signature and its brackets included: 70, then 67 per part.
"""

from __future__ import annotations

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("|^€{}[]~\\\f")


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _split(units: int, single: int, multi: int) -> int:
    if units <= single:
        return 1
    return -(-units // multi)


def count_parts(text: str, *, china: bool = False, signature: str = "") -> int:
    """Number of billed parts for ``text``; ``signature`` (e.g. ``【乐乐玩具】``) counts in China."""
    if china:
        return _split(len(signature) + len(text), 70, 67)
    if is_gsm7(text):
        return _split(sum(2 if ch in GSM7_EXTENSION else 1 for ch in text), 160, 153)
    return _split(len(text.encode("utf-16-le")) // 2, 70, 67)

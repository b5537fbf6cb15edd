"""Audience segments for new arrivals: which members a new product speaks to, found through an
index (``born#YYYY-MM`` for children's birth months, ``tag#…`` for tags) instead of a scan. Pure."""

from __future__ import annotations

from .model import Member, Product


def arrival_segments(product: Product) -> list[str]:
    """Audience segments a new product speaks to: children born in the months that put them in its
    age range on its arrival day (``born#YYYY-MM``), and its tags (``tag#…``)."""
    segments: list[str] = []
    if product.arrived_on is not None and product.age_min_months is not None:
        top = product.age_max_months if product.age_max_months is not None else product.age_min_months + 24
        # +2: a child in the oldest birth month may still be within range on arrival day
        for months in range(product.age_min_months, min(top, product.age_min_months + 216) + 2):
            year, month = divmod(product.arrived_on.year * 12 + product.arrived_on.month - 1 - months, 12)
            segments.append(f"born#{year:04d}-{month + 1:02d}")
    segments.extend(f"tag#{tag}" for tag in product.tags)
    return segments


def member_segments(member: Member) -> dict[str, int | None]:
    """The audience segments a member belongs to, with the child index for birth-month segments."""
    out: dict[str, int | None] = {}
    for index, child in enumerate(member.children):
        out.setdefault(f"born#{child.birthday.year:04d}-{child.birthday.month:02d}", index)
    for tag in member.tags:
        out.setdefault(f"tag#{tag}", None)
    return out


def segment_changes(old: Member | None, new: Member) -> tuple[dict[str, int | None], list[str]]:
    """(segments to add or update with their child index, segments to leave) after a change."""
    before = member_segments(old) if old else {}
    after = member_segments(new)
    add = {s: i for s, i in after.items() if s not in before or before[s] != i}
    remove = [s for s in before if s not in after]
    return add, remove

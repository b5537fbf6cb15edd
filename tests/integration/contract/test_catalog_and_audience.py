"""``ProductStore`` / ``Catalog`` and ``AudienceStore`` contracts: the catalog a caller gets is never
older than the last product write before the call, and stays as it was once handed out; an audience
segment lists its members in member-id order with the child each came in through."""

from __future__ import annotations

from datetime import date
from typing import Any

from chalicelib.domain.model import Product

PUZZLE = Product("PUZ-1", "恐龙拼图·第1辑", "puzzle", 36, 72, "any", ("puzzle",), 59.0, (), date(2026, 12, 1))
FRAME = Product("FRAME", "拼图框", "accessory", None, None, "girl", (), None, ("puzzle", "PUZ-1"), None, False)


def test_a_product_reads_back_equal(adapters: Any) -> None:
    adapters.products.put(PUZZLE)
    adapters.products.put(FRAME)
    assert adapters.products.get("PUZ-1") == PUZZLE
    assert adapters.products.get("FRAME") == FRAME
    assert adapters.products.get("NONE") is None


def test_the_catalog_follows_every_write_and_what_was_handed_out_stays(adapters: Any) -> None:
    assert dict(adapters.catalog.products()) == {}
    adapters.products.put(PUZZLE)
    first = adapters.catalog.products()
    assert dict(first) == {"PUZ-1": PUZZLE}
    sold_out = Product("PUZ-1", "恐龙拼图·第1辑", "puzzle", 36, 72, in_stock=False)
    adapters.products.put(sold_out)
    adapters.products.put(FRAME)
    assert dict(adapters.catalog.products()) == {"PUZ-1": sold_out, "FRAME": FRAME}
    assert dict(first) == {"PUZ-1": PUZZLE}


def test_an_audience_segment_lists_its_members_in_id_order(adapters: Any) -> None:
    audience = adapters.audience
    audience.update("m-2", {"born#2021-06": 0, "tag#lego": None}, [])
    audience.update("m-1", {"born#2021-06": 1}, [])
    assert list(audience.members_in("born#2021-06")) == [("m-1", 1), ("m-2", 0)]
    assert list(audience.members_in("tag#lego")) == [("m-2", None)]
    assert list(audience.members_in("tag#none")) == []


def test_an_audience_update_moves_and_removes(adapters: Any) -> None:
    audience = adapters.audience
    audience.update("m-1", {"born#2021-06": 0, "tag#lego": None}, [])
    audience.update("m-1", {"born#2021-06": 1}, ["tag#lego", "tag#never-there"])
    assert list(audience.members_in("born#2021-06")) == [("m-1", 1)]
    assert list(audience.members_in("tag#lego")) == []

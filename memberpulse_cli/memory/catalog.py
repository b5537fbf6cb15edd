"""Products and the catalog the rules read, in memory (``chalicelib/adapters/product_store.py``,
``catalog.py``): one set of products; the catalog a caller gets is the catalog as it was at the
call (a product written afterwards is in the next one, never in one already handed out)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from chalicelib.domain.model import Product


class MemoryProductStore:
    """``ProductStore``. Products are frozen values: nothing needs copying."""

    def __init__(self, products: dict[str, Product] | None = None) -> None:
        self.products: dict[str, Product] = products if products is not None else {}
        self.version = 0  # moved by every write, like the ``#catalog`` item

    def put(self, product: Product) -> None:
        self.products[product.sku] = product
        self.version += 1

    def get(self, sku: str) -> Product | None:
        return self.products.get(sku)


class MemoryCatalog:
    """``Catalog`` over a :class:`MemoryProductStore`: a read-only copy, made again only after a write."""

    def __init__(self, store: MemoryProductStore) -> None:
        self.store = store
        self._version = -1
        self._products: Mapping[str, Product] = MappingProxyType({})

    def products(self) -> Mapping[str, Product]:
        if self._version != self.store.version:
            self._products = MappingProxyType(dict(self.store.products))
            self._version = self.store.version
        return self._products

"""``Catalog`` on DynamoDB: the whole product catalog, cached per Lambda container, and never used
older than the last product write. Before each use one consistent read of the catalog's version
(``#catalog``, moved by every product write in the same transaction) says whether the cache is
current; if not, the catalog is read again (a consistent scan). A toy store's catalog is thousands
of SKUs: one small read per batch of timers beats a read per rule, and a product added or sold out
a moment ago is seen at once."""

from __future__ import annotations

import time
from collections.abc import Mapping
from types import MappingProxyType

from ..domain.model import Product
from . import codec
from .models import ProductModel
from .product_store import CATALOG_KEY


class DynamoCatalog:
    def __init__(self, max_age: float = 3600.0) -> None:
        self.max_age = max_age  # read again at least this often, version or not
        self._version: int | None = None
        self._loaded_at = 0.0
        self._products: Mapping[str, Product] = MappingProxyType({})

    def products(self) -> Mapping[str, Product]:
        version = self._current_version()
        if version != self._version or time.monotonic() - self._loaded_at > self.max_age:
            loaded = {
                row.sku: codec.product_from_data(row.data.as_dict())
                for row in ProductModel.scan(consistent_read=True)
                if row.sku != CATALOG_KEY and row.data is not None
            }
            self._products = MappingProxyType(loaded)
            self._version, self._loaded_at = version, time.monotonic()
        return self._products

    def _current_version(self) -> int:
        try:
            item = ProductModel.get(CATALOG_KEY, consistent_read=True, attributes_to_get=["version"])
        except ProductModel.DoesNotExist:
            return 0
        return int(item.version or 0)

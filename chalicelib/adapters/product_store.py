"""``ProductStore`` on DynamoDB. Every write also moves the catalog's version (one transaction), so
a cached catalog (``catalog.py``) can tell it is out of date before it decides anything."""

from __future__ import annotations

from pynamodb.transactions import TransactWrite

from ..domain.model import Product
from . import codec
from .models import ProductModel
from .pynamo import shared_connection

CATALOG_KEY = "#catalog"  # not a valid SKU (the API accepts [A-Za-z0-9_-])


class DynamoProductStore:
    def put(self, product: Product) -> None:
        with TransactWrite(connection=shared_connection()) as tx:
            tx.save(ProductModel(product.sku, data=codec.product_to_data(product)))
            tx.update(ProductModel(CATALOG_KEY), actions=[ProductModel.version.add(1)])

    def get(self, sku: str) -> Product | None:
        try:
            item = ProductModel.get(sku)
        except ProductModel.DoesNotExist:
            return None
        return codec.product_from_data(item.data.as_dict()) if item.data is not None else None

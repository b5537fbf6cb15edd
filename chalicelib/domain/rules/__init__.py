"""The lifecycle rules, one module each, registered in one table.

Every module of this package whose name does not start with ``_`` defines ``RULE``, an instance of
a :class:`~.base.Rule` subclass; :data:`RULES` maps each rule id to it. Adding a rule is one module
here, its section in ``chalicelib/rules.toml`` and its tests (README: "Add a rule")."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from types import MappingProxyType

from .base import Check, Context, Drop, Fire, Grant, Plan, Rule

__all__ = ["RULES", "Check", "Context", "Drop", "Fire", "Grant", "Plan", "Rule", "discover"]


def discover() -> dict[str, Rule]:
    found: dict[str, Rule] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        rule = getattr(module, "RULE", None)
        if not isinstance(rule, Rule):
            raise TypeError(f"chalicelib/domain/rules/{info.name}.py: defines no RULE (a Rule instance)")
        if rule.rule_id != info.name:
            raise TypeError(
                f"chalicelib/domain/rules/{info.name}.py: RULE.rule_id is {rule.rule_id!r}; name the module after it"
            )
        found[rule.rule_id] = rule
    return found


RULES: Mapping[str, Rule] = MappingProxyType(discover())

"""Message text from user-authored Liquid templates (python-liquid, sandboxed: no file system,
no Python attribute access; an unknown variable is an error unless it has a ``default``)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from liquid import BoundTemplate, Environment, StrictDefaultUndefined

_ENV = Environment(undefined=StrictDefaultUndefined, autoescape=False)


class TemplateError(ValueError):
    pass


@lru_cache(maxsize=512)
def compile_template(source: str) -> BoundTemplate:
    try:
        return _ENV.from_string(source)
    except Exception as exc:  # python-liquid raises several syntax error types
        raise TemplateError(str(exc).splitlines()[0]) from exc


def render(source: str, variables: dict[str, Any]) -> str:
    try:
        return compile_template(source).render(**variables).strip()
    except TemplateError:
        raise
    except Exception as exc:
        raise TemplateError(str(exc).splitlines()[0]) from exc

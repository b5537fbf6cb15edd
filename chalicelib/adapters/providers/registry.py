"""Which provider adapters exist, built on first use from the stage's secrets, and built again when
those secrets change.

The sender and the webhook route look providers up by name (``aliyun``, ``twilio``, …). Each is
built the first time it is asked for (so a function loads only the SDKs it uses) from the secret
JSON (Secrets Manager, cached) through the adapter's ``from_secrets``; a provider whose secrets are
missing is simply not there (the sender fails its messages "provider not configured", the webhook
route answers 404). Which provider serves which channel is configuration (``SMS_PROVIDER``,
``IM_PROVIDER``); the secret names are listed in README.md ("Providers").

Rotation: every access reads the secrets again (the reader is cached itself: Powertools'
``get_secret(max_age=300)``) and compares the ones the adapter was built from — the secret keys
named ``<provider>_…`` and the overrides derived from the secrets — with what they are now; when
they differ, the adapter is built again. So a webhook secret or provider key rotated in Secrets
Manager is used by running functions within the cache's five minutes, and a provider configured
later appears (one whose secrets go, disappears).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ...domain.ratelimit import DEFAULT_ARRIVAL_SPREAD_MS, margin_ms
from ...ports import Provider

if TYPE_CHECKING:
    from .base import ProviderAdapter

log = logging.getLogger(__name__)

# name → (module, class) under chalicelib.adapters.providers
ADAPTERS: dict[str, tuple[str, str]] = {
    "aliyun": ("aliyun", "AliyunSmsAdapter"),
    "tencent": ("tencent", "TencentSmsAdapter"),
    "twilio": ("twilio", "TwilioSmsAdapter"),
    "aws_sms": ("aws_sms", "AwsSmsAdapter"),
    "agora": ("agora", "AgoraChatProvider"),
    "wecom": ("wecom", "WeComKfProvider"),
}


def adapter_class(name: str) -> type[ProviderAdapter[Any]] | None:
    """The adapter class of provider ``name`` (its module imported; nothing built), None if unknown."""
    if name == "sandbox":
        from .sandbox import SandboxProvider

        return SandboxProvider
    if name not in ADAPTERS:
        return None
    module, cls = ADAPTERS[name]
    found: type[ProviderAdapter[Any]] = getattr(importlib.import_module(f"{__package__}.{module}"), cls)
    return found


def schedule_margins(providers: Iterable[str]) -> dict[str, int]:
    """Each rate-limited provider's schedule margin (``domain/ratelimit.margin_ms``), from the
    transit spread its adapter declares."""
    margins: dict[str, int] = {}
    for name in providers:
        adapter = adapter_class(name)
        margins[name] = margin_ms(adapter.arrival_spread_ms if adapter else DEFAULT_ARRIVAL_SPREAD_MS)
    return margins


class ProviderRegistry(Mapping[str, Any]):
    """A read-only mapping name → adapter, built lazily and rebuilt when its secrets change.
    ``ready`` adapters (the sandbox) are given ready-made and read no secret."""

    def __init__(
        self,
        secrets: Callable[[], Mapping[str, str]],
        ready: Mapping[str, Any] | None = None,
        overrides: Callable[[Mapping[str, str]], Mapping[str, Mapping[str, Any]]] | None = None,
    ) -> None:
        self._secrets = secrets
        self._ready: dict[str, Any] = dict(ready or {})
        # name → (digest of the secrets it was built from, adapter / why it is missing)
        self._built: dict[str, tuple[str, Any]] = {}
        self._missing: dict[str, tuple[str, str]] = {}
        # Constructor keywords per provider that depend on the secrets (read when a provider is
        # first built, never before: a function that only uses the sandbox reads no secret).
        self._overrides = overrides or (lambda _secrets: {})

    def __getitem__(self, name: str) -> Provider:
        if name in self._ready:
            return self._ready[name]  # type: ignore[no-any-return]
        if name not in ADAPTERS:
            raise KeyError(name)
        built = self._built.get(name)
        try:
            secrets = self._secrets()
        except Exception:
            if built is None:
                raise
            # Secrets Manager unreachable: the adapter as last built beats none at all.
            log.warning("provider %s: cannot read the secrets now; keeping the adapter as built", name)
            return built[1]  # type: ignore[no-any-return]
        overrides = dict(self._overrides(secrets).get(name, {}))
        digest = _digest(name, secrets, overrides)
        if built is not None and built[0] == digest:
            return built[1]  # type: ignore[no-any-return]
        missing = self._missing.get(name)
        if missing is not None and missing[0] == digest:
            raise KeyError(name)
        cls: Any = adapter_class(name)  # a name of ADAPTERS: each adapter has its own ``from_secrets``
        try:
            adapter = cls.from_secrets(secrets, **overrides)
        except (KeyError, ValueError, TypeError) as exc:
            self._built.pop(name, None)
            self._missing[name] = (digest, f"{type(exc).__name__}: {exc}")
            raise KeyError(name) from None
        self._missing.pop(name, None)
        self._built[name] = (digest, adapter)
        return adapter  # type: ignore[no-any-return]

    def why_missing(self, name: str) -> str | None:
        missing = self._missing.get(name)
        return missing[1] if missing else None

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self[name]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter([*self._ready, *(n for n in ADAPTERS if n not in self._ready)])

    def __len__(self) -> int:
        return len(set(self._ready) | set(ADAPTERS))


def _digest(name: str, secrets: Mapping[str, str], overrides: Mapping[str, Any]) -> str:
    """A digest of what ``name``'s adapter is built from: its own secret keys and its overrides
    (a digest, so no second copy of the secret values is kept)."""
    own = {key: value for key, value in secrets.items() if key.startswith(f"{name}_")}
    text = json.dumps([own, overrides], sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()

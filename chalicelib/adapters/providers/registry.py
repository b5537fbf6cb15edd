"""Which provider adapters exist, built on first use from the stage's secrets.

The sender and the webhook route look providers up by name (``aliyun``, ``twilio``, …). Each is
built the first time it is asked for (so a function loads only the SDKs it uses) from the secret
JSON (Secrets Manager, cached) through the adapter's ``from_secrets``; a provider whose secrets are
missing is simply not there (the sender fails its messages "provider not configured", the webhook
route answers 404). Which provider serves which channel is configuration (``SMS_PROVIDER``,
``IM_PROVIDER``); the secret names are listed in README.md ("Providers").
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ...ports import Provider

# name → (module, class) under chalicelib.adapters.providers
ADAPTERS: dict[str, tuple[str, str]] = {
    "aliyun": ("aliyun", "AliyunSmsAdapter"),
    "tencent": ("tencent", "TencentSmsAdapter"),
    "twilio": ("twilio", "TwilioSmsAdapter"),
    "aws_sms": ("aws_sms", "AwsSmsAdapter"),
    "agora": ("agora", "AgoraChatProvider"),
    "wecom": ("wecom", "WeComKfProvider"),
}


class ProviderRegistry(Mapping[str, Any]):
    """A read-only mapping name → adapter, built lazily. ``sandbox`` is given ready-made."""

    def __init__(
        self,
        secrets: Callable[[], Mapping[str, str]],
        ready: Mapping[str, Any] | None = None,
        overrides: Callable[[Mapping[str, str]], Mapping[str, Mapping[str, Any]]] | None = None,
    ) -> None:
        self._secrets = secrets
        self._built: dict[str, Any] = dict(ready or {})
        self._missing: dict[str, str] = {}
        # Constructor keywords per provider that depend on the secrets (read when a provider is
        # first built, never before: a function that only uses the sandbox reads no secret).
        self._overrides = overrides or (lambda _secrets: {})

    def __getitem__(self, name: str) -> Provider:
        if name in self._built:
            return self._built[name]  # type: ignore[no-any-return]
        if name not in ADAPTERS or name in self._missing:
            raise KeyError(name)
        module, cls_name = ADAPTERS[name]
        cls = getattr(importlib.import_module(f"{__package__}.{module}"), cls_name)
        try:
            secrets = self._secrets()
            adapter = cls.from_secrets(secrets, **self._overrides(secrets).get(name, {}))
        except (KeyError, ValueError, TypeError) as exc:
            self._missing[name] = f"{type(exc).__name__}: {exc}"
            raise KeyError(name) from None
        self._built[name] = adapter
        return adapter  # type: ignore[no-any-return]

    def why_missing(self, name: str) -> str | None:
        return self._missing.get(name)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self[name]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter([*self._built, *(n for n in ADAPTERS if n not in self._built)])

    def __len__(self) -> int:
        return len(set(self._built) | set(ADAPTERS))

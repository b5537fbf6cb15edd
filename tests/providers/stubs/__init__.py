"""Provider stubs speaking each provider's documented wire format, for ``tests/providers``."""

"""Powertools Logger and Metrics, one of each per process. Phone numbers never reach a log line
whole: log ``mask(phone)``; this module also masks any E.164-looking value that slips through."""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from .domain.phones import mask

# E.164 numbers, and bare mainland mobile numbers (11 digits starting 13–19).
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{8,15}|1[3-9]\d{9})(?!\d)")


class MaskingFormatter(LambdaPowertoolsFormatter):
    def serialize(self, log: Any) -> str:
        text = super().serialize(log)
        return _PHONE.sub(lambda m: mask(m.group(0) if m.group(0).startswith("+") else "+86" + m.group(0)), text)


logger = Logger(service="memberpulse", logger_formatter=MaskingFormatter())
metrics = Metrics(namespace="MemberPulse", service="memberpulse")


def flush_metrics() -> None:
    """Publish what was recorded; nothing (and no warning) when the invocation recorded nothing."""
    if metrics.metric_set:
        metrics.flush_metrics()


def log_event(message: str, **fields: Any) -> None:
    logger.info(message, extra=fields)

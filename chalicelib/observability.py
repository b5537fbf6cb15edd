"""Powertools Logger and Metrics, one of each per process. Phone numbers never reach a log line
whole: log ``mask(phone)``; this module also masks any E.164-looking value that slips through."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from .domain.phones import mask_phones_in


class MaskingFormatter(LambdaPowertoolsFormatter):
    def serialize(self, log: Any) -> str:
        text = super().serialize(log)
        return mask_phones_in(text)


logger = Logger(service="memberpulse", logger_formatter=MaskingFormatter())
metrics = Metrics(namespace="MemberPulse", service="memberpulse")


def flush_metrics() -> None:
    """Publish what was recorded; nothing (and no warning) when the invocation recorded nothing."""
    if metrics.metric_set:
        metrics.flush_metrics()


def log_event(message: str, **fields: Any) -> None:
    logger.info(message, extra=fields)

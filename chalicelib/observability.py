"""Powertools Logger and Metrics, one of each per process. Phone numbers never reach a log line
whole: log ``mask(phone)``; this module also masks any E.164-looking value that slips through."""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

# E.164 numbers, and bare mainland mobile numbers (11 digits starting 13–19).
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{8,15}|1[3-9]\d{9})(?!\d)")


class MaskingFormatter(LambdaPowertoolsFormatter):
    def serialize(self, log: dict[str, Any]) -> str:
        text = super().serialize(log)
        return _PHONE.sub(lambda m: m.group(0)[: len(m.group(0)) - 8] + "****" + m.group(0)[-4:], text)


logger = Logger(service="memberpulse", logger_formatter=MaskingFormatter())
metrics = Metrics(namespace="MemberPulse", service="memberpulse")


def log_event(message: str, **fields: Any) -> None:
    logger.info(message, extra=fields)

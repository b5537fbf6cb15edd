"""``StaffNotifier`` on SNS: a message to the staff topic."""

from __future__ import annotations

import json
from typing import Any


class SnsStaffNotifier:
    def __init__(self, client: Any, topic_arn: str) -> None:
        self.client = client
        self.topic_arn = topic_arn

    def notify(self, subject: str, body: dict[str, object]) -> None:
        if not self.topic_arn:
            return
        ascii_subject = subject.encode("ascii", "replace").decode()[:99]
        self.client.publish(
            TopicArn=self.topic_arn, Subject=ascii_subject, Message=json.dumps(body, ensure_ascii=False)
        )

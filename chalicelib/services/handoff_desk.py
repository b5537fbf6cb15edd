"""Handoff tickets waiting for a person (``GET /v1/handoffs``): members who asked for staff
(售后, 客服, human), newest first, paged; what they wrote and their phone masked."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..domain.errors import ValidationFailed
from ..domain.isotime import to_iso
from ..domain.paging import decode_cursor, encode_cursor, limit_of, only
from ..domain.phones import mask, mask_phones_in
from ..domain.replies import HANDOFF_OPEN
from ..ports import HandoffStore, MemberDirectory

PARAMETERS = ("status", "limit", "cursor")
_STATUS = re.compile(r"[a-z_]{1,32}")


class HandoffDesk:
    def __init__(self, handoffs: HandoffStore, directory: MemberDirectory) -> None:
        self.handoffs = handoffs
        self.directory = directory

    def waiting(self, params: Mapping[str, str] | None) -> tuple[list[dict[str, Any]], str | None]:
        params = params or {}
        only(params, PARAMETERS)
        status = params.get("status", HANDOFF_OPEN)
        if not _STATUS.fullmatch(status):
            raise ValidationFailed({"status": "must be a ticket status such as open"})
        limit = limit_of(params, 50, 200)
        cursor = params.get("cursor")
        after = decode_cursor(cursor, 2) if cursor else None
        tickets, following = self.handoffs.page(status, limit, (after[0], after[1]) if after else None)
        phones = self.directory.phones_of([t.member_id for t in tickets])
        rows = [
            {
                "ticket_id": t.ticket_id,
                "member_id": t.member_id,
                "phone": mask(phones.get(t.member_id)) or None,
                "channel": t.channel.value,
                "text": mask_phones_in(t.text),
                "status": t.status,
                "created_at": to_iso(t.created_at),
                "notified": t.notified,
            }
            for t in tickets
        ]
        return rows, (encode_cursor(following) if following else None)

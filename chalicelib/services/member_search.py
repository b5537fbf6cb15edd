"""Finding a member by phone (``GET /v1/members?phone=…``): the ``by_phone`` index answers the
member id; the answer shows the phone masked, never whole."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..domain.errors import ValidationFailed
from ..domain.paging import only
from ..domain.phones import mask, to_e164
from ..ports import MemberDirectory, MemberStore


class MemberSearch:
    def __init__(self, directory: MemberDirectory, members: MemberStore, default_phone_region: str) -> None:
        self.directory = directory
        self.members = members
        self.default_phone_region = default_phone_region

    def find(self, params: Mapping[str, str] | None) -> list[dict[str, Any]]:
        """The members with this phone (any common form; at most one): id, masked phone, name."""
        params = params or {}
        only(params, ("phone",))
        raw = params.get("phone", "")
        if not raw.strip():
            raise ValidationFailed({"phone": "is required: the member's phone number, in any common form"})
        if len(raw) > 64:
            raise ValidationFailed({"phone": "is too long for a phone number"})
        try:
            phone = to_e164(raw, self.default_phone_region)
        except ValueError as exc:
            raise ValidationFailed({"phone": str(exc)}) from None
        member_id = self.directory.by_phone(phone)
        member = self.members.get(member_id) if member_id else None
        if member is None or member.phone != phone:  # the index is eventually consistent
            return []
        return [{"member_id": member.member_id, "phone": mask(member.phone), "name": member.name or None}]

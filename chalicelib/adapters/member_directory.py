"""``MemberDirectory`` on DynamoDB: who wrote this, by phone (E.164) or IM user id (sparse GSIs)."""

from __future__ import annotations

from .models import MemberModel


class DynamoMemberDirectory:
    def by_phone(self, phone: str) -> str | None:
        for row in MemberModel.by_phone.query(phone, limit=1):
            return str(row.member_id)
        return None

    def by_im_user(self, im_user_id: str) -> str | None:
        for row in MemberModel.by_im_user.query(im_user_id, limit=1):
            return str(row.member_id)
        return None

    def phones_of(self, member_ids: list[str]) -> dict[str, str]:
        """One BatchGetItem per 100 members (PynamoDB splits and retries unprocessed keys)."""
        wanted = sorted(set(member_ids))
        if not wanted:
            return {}
        rows = MemberModel.batch_get(wanted, attributes_to_get=["member_id", "phone"])
        return {str(row.member_id): str(row.phone) for row in rows if row.phone}

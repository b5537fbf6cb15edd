"""Identifiers built from business keys.

A message's id is derived from (member, rule, occurrence), so every retry, stream replay or re-run
schedule that decides "the same message" lands on the same record and the same provider dedupe id.
26 characters: short enough for Alibaba ``OutId``, WeCom ``msgid`` (≤32 B) and Tencent ``SessionContext``.
"""

from __future__ import annotations

import hashlib


def business_key(member_id: str, rule: str, occurrence: str) -> str:
    return f"{member_id}#{rule}#{occurrence}"


def message_id(member_id: str, rule: str, occurrence: str) -> str:
    digest = hashlib.sha256(business_key(member_id, rule, occurrence).encode()).hexdigest()
    return "m" + digest[:25]

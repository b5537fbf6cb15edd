"""Segments behind the API: put, get, and a preview — one parallel pass over the members (the
member store's parallel scan, ``parts`` at once), each member read once and evaluated by the pure
``domain/segments.matches``."""

from __future__ import annotations

import heapq
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from ..domain.errors import NotFound
from ..domain.isotime import to_iso
from ..domain.segments import Segment, matches, parse_segment
from ..domain.validation import check_id
from ..ports import MemberStore, SegmentStore

SAMPLE = 20
PAGE = 500


class SegmentService:
    def __init__(self, segments: SegmentStore, members: MemberStore, store_zone: str, parts: int = 4) -> None:
        self.segments = segments
        self.members = members
        self.store_zone = store_zone
        self.parts = parts

    def put(self, segment_id: str, body: Any, now: datetime) -> dict[str, Any]:
        segment = parse_segment(segment_id, body)
        self.segments.put(segment, now)
        return segment.to_data()

    def require(self, segment_id: str) -> Segment:
        check_id(segment_id, "segment_id")
        segment = self.segments.get(segment_id)
        if segment is None:
            raise NotFound(f"segment {segment_id}")
        return segment

    def get(self, segment_id: str) -> dict[str, Any]:
        return self.require(segment_id).to_data()

    def preview(self, segment_id: str, now: datetime) -> dict[str, Any]:
        """{count, sample (≤ 20 member ids, the first in id order), evaluated_at}."""
        segment = self.require(segment_id)

        def part(n: int) -> tuple[int, list[str]]:
            count, cursor = 0, None
            sample: list[str] = []
            while True:
                page, cursor = self.members.scan_page(n, self.parts, cursor, PAGE)
                for member in page:
                    if matches(member, segment, now, self.store_zone):
                        count += 1
                        sample = heapq.nsmallest(SAMPLE, [*sample, member.member_id])
                if cursor is None:
                    return count, sample

        with ThreadPoolExecutor(max_workers=self.parts) as pool:
            results = list(pool.map(part, range(self.parts)))
        sample = heapq.nsmallest(SAMPLE, [mid for _, ids in results for mid in ids])
        return {"count": sum(n for n, _ in results), "sample": sample, "evaluated_at": to_iso(now)}

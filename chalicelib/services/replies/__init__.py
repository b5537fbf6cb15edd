"""What a member's reply is answered with: an ordered chain of small reply handlers, each saying
"this reply is mine" and acting on it (CONTRACT §7 routing order). See ``chain.py``."""

from __future__ import annotations

from .chain import MemberReply, ReplyChain, ReplyHandler, Stage

__all__ = ["MemberReply", "ReplyChain", "ReplyHandler", "Stage"]

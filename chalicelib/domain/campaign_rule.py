"""A campaign's messages as the eligibility decision sees a rule (``domain/eligibility.py``): the
campaign's class and channels, the store's quiet hours and caps, priority 40 (rules win a member's
last slot in a cap period). Pure, and light: the sender imports it to check a stored campaign
message at send time without loading the campaigns module (templates, segments)."""

from __future__ import annotations

from .model import Channel
from .rulebook import RuleConfig

CAMPAIGN_TRIGGER = "campaign"
CAMPAIGN_PRIORITY = 40


def rule_config(
    campaign_id: str, rule_class: str, channels: tuple[Channel, ...], templates: dict[str, str]
) -> RuleConfig:
    """The rule a campaign's messages are planned and sent under."""
    return RuleConfig(
        f"campaign.{campaign_id}", True, rule_class, channels, templates, 48, {"priority": CAMPAIGN_PRIORITY}
    )


def message_rule(trigger: str, rule_class: str, channel: Channel, campaign_id: str | None) -> RuleConfig | None:
    """The rule a stored campaign message is checked against at send time (None for a rule's own)."""
    if trigger != CAMPAIGN_TRIGGER or campaign_id is None:
        return None
    return rule_config(campaign_id, rule_class, (channel,), {"zh-CN": "-"})

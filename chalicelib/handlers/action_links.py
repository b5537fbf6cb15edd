"""``/a/{activity_id}/{token}``: the small page behind a signed link in an activity message. A GET
shows what the button does (link previews and prefetchers never act); the button POSTs and the
answer says what happened. A forged or unknown token is a 404 page. Text in the member's language."""

from __future__ import annotations

import html

from chalice.app import Request, Response

from .. import bootstrap
from ..domain.activity_facts import when
from ..domain.calendar import zone
from ..services.action_links import ActionLinkService, Done, Resolved
from .http import request_time

TEXT = {
    "zh-CN": {
        "register": "报名",
        "cancel": "取消报名",
        "claim": "确认名额",
        "confirmed": "报名成功！确认消息马上发给您。",
        "waitlisted": "已满，您在候补第{position}位。",
        "already": "您已经报名了。",
        "cancelled": "已取消您的报名。",
        "claimed": "名额是您的了！确认消息马上发给您。",
        "closed": "抱歉，报名已截止。",
        "nothing": "没有需要处理的报名（可能已取消，或名额已让给下一位）。",
        "missing": "链接无效或已过期。",
    },
    "zh-TW": {
        "register": "報名",
        "cancel": "取消報名",
        "claim": "確認名額",
        "confirmed": "報名成功！確認訊息馬上發給您。",
        "waitlisted": "已滿，您在候補第{position}位。",
        "already": "您已經報名了。",
        "cancelled": "已取消您的報名。",
        "claimed": "名額是您的了！確認訊息馬上發給您。",
        "closed": "抱歉，報名已截止。",
        "nothing": "沒有需要處理的報名（可能已取消，或名額已讓給下一位）。",
        "missing": "連結無效或已過期。",
    },
    "en": {
        "register": "Sign up",
        "cancel": "Cancel my place",
        "claim": "Take the seat",
        "confirmed": "You're in! A confirmation is on its way.",
        "waitlisted": "It's full: you're number {position} on the waitlist.",
        "already": "You're already signed up.",
        "cancelled": "Your place is cancelled.",
        "claimed": "The seat is yours! A confirmation is on its way.",
        "closed": "Sorry, sign-up is closed.",
        "nothing": "Nothing to do here (cancelled already, or the seat went to the next in line).",
        "missing": "This link is not valid (any more).",
    },
}


def _page(title: str, body: str, status: int = 200) -> Response:
    doc = (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:28em;margin:2em auto;padding:0 1em}"
        "button{font-size:1.1em;padding:.6em 1.4em}</style></head>"
        f"<body>{body}</body></html>"
    )
    headers: dict[str, str | list[str]] = {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-store",
        "X-Robots-Tag": "noindex",
    }
    return Response(body=doc, status_code=status, headers=headers)


def _service() -> ActionLinkService:
    app = bootstrap.app()
    secret = app.adapters.secrets().get("activity_link_key", "")
    return ActionLinkService(app.adapters.activities, app.registrations, app.adapters.members, secret)


def page(request: Request, activity_id: str, token: str) -> Response:
    service = _service()
    resolved = service.resolve(activity_id, token)
    if resolved is None:
        return _page("MemberPulse", f"<p>{html.escape(TEXT['zh-CN']['missing'])} / {TEXT['en']['missing']}</p>", 404)
    words = TEXT.get(resolved.member.locale, TEXT["zh-CN"])
    summary = _summary(resolved)
    if request.method != "POST":
        button = html.escape(words[resolved.action])
        form = f'<form method="post"><button type="submit">{button}</button></form>'
        return _page(resolved.activity.title, summary + form)
    done = service.act(resolved, request_time(request))
    return _page(resolved.activity.title, summary + f"<p><strong>{html.escape(_said(done, words))}</strong></p>")


def _summary(resolved: Resolved) -> str:
    a = resolved.activity
    tz = zone(resolved.member.timezone, bootstrap.app().settings.store_timezone)
    starts = when(a.starts_at, tz, resolved.member.locale)
    return f"<h1>{html.escape(a.title)}</h1><p>{html.escape(starts)} · {html.escape(a.location)}</p>"


def _said(done: Done, words: dict[str, str]) -> str:
    return words.get(done.outcome, words["nothing"]).format(position=done.position or "")

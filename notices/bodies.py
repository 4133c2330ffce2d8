"""The body each kind of endpoint expects, from one generic payload.

Generic: the payload itself. Slack: an incoming-webhook message (`text` plus one mrkdwn section).
Microsoft Teams: a workflow ("Post to a channel when a webhook request is received") message holding
an Adaptive Card, the format Teams accepts since Office 365 connectors were retired.
"""
import json


def _line(payload: dict) -> str:
    return payload["title"] + (f"\n{payload['text']}" if payload.get("text") else "")


def slack(payload: dict) -> dict:
    text = _line(payload)
    mrkdwn = f"*{_escape_slack(payload['title'])}*"
    if payload.get("text"):
        mrkdwn += f"\n{_escape_slack(payload['text'])}"
    if payload.get("url"):
        mrkdwn += f"\n<{payload['url']}|Open in Readiness>"
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}]}


def _escape_slack(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def teams(payload: dict) -> dict:
    body = [{"type": "TextBlock", "text": payload["title"], "weight": "Bolder", "wrap": True}]
    if payload.get("text"):
        body.append({"type": "TextBlock", "text": payload["text"], "wrap": True})
    card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
            "version": "1.4", "body": body}
    if payload.get("url"):
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open in Readiness", "url": payload["url"]}]
    return {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                                                "contentUrl": None, "content": card}]}


def encode(format: str, payload: dict) -> bytes:
    body = {"slack": slack, "teams": teams}.get(format, lambda p: p)(payload)
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

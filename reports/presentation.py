"""How the PDF shows the report's content to a person reading it on paper.

The canonical content (content.py) keeps what the database holds: usernames, object ids, enum values,
ISO times with microseconds; its bytes are what the manifest hashes and must not change meaning. The
PDF shows the same facts for a reader: items by their text, people by their full names, enum values by
their labels, times to the second with the zone. `Labels` holds the names the content does not carry
(database ids of the audit trail's objects, full names), read once per report (`labels_for`).
"""
import datetime
import json
from dataclasses import dataclass, field

from checklists.models import (
    Approval, Evidence, Release, ReleaseItem, Role, Severity, SignoffRequirement, Team, Waiver,
)

ENUM_KEYS = {"status", "previous_status", "state", "decision", "kind", "role", "severity", "trigger",
             "probe_status", "auth", "format"}
_LABELS = {}
for _choices in (Evidence.Kind, Waiver.State, Approval.Decision, Severity, Role, Release.State, ReleaseItem.Status):
    _LABELS.update(dict(_choices.choices))
# Keys whose value is a database id the reader cannot use; the row names the object instead.
HIDDEN_KEYS = {"result", "template_version"}
OBJECT_NAMES = {"releaseitem": "Item", "release": "Release", "signoffrequirement": "Requirement",
                "approval": "Decision", "waiver": "Waiver", "proberun": "Probe run", "report": "Report"}


def label(value) -> str:
    """An enum value's label: ours where we define it, else the value made readable."""
    if value is None:
        return "none"
    text = str(value)
    return _LABELS.get(text) or text.replace("_", " ").capitalize()


def when(value) -> str:
    """An ISO time as "2026-12-01 22:41:53 UTC" (to the second, with the zone); dates stay dates."""
    if not value:
        return "—"
    try:
        moment = datetime.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if len(str(value)) <= 10:
        return moment.date().isoformat()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass
class Labels:
    users: dict = field(default_factory=dict)  # username -> full name
    teams: dict = field(default_factory=dict)  # slug -> name
    objects: dict = field(default_factory=dict)  # (object_type, object_id) -> what it is, for a person

    def person(self, username) -> str:
        if not username:
            return "system"
        return self.users.get(username) or username

    def thing(self, object_type: str, object_id: str) -> str:
        return self.objects.get((object_type, str(object_id))) or OBJECT_NAMES.get(object_type, object_type.capitalize())


def labels_for(release, content: dict) -> Labels:
    """The names of the audit trail's objects and people. Costs 6 queries, whatever the trail's length."""
    from django.contrib.auth import get_user_model

    ids: dict[str, set] = {}
    usernames = set()
    for event in content["audit"]:
        object_type, _, object_id = event["object"].partition(":")
        ids.setdefault(object_type, set()).add(object_id)
        usernames.add(event["actor"])
        for change in (event["before"], event["after"]):
            if isinstance(change, dict) and isinstance(change.get("assignee"), str):
                usernames.add(change["assignee"])
    labels = Labels()
    for user in get_user_model().objects.filter(username__in=usernames):
        labels.users[user.get_username()] = user.get_full_name() or user.get_username()
    labels.teams = dict(Team.objects.values_list("slug", "name"))

    def numeric(object_type):
        return [int(i) for i in ids.get(object_type, ()) if str(i).isdigit()]

    for pk, key, text in ReleaseItem.objects.filter(pk__in=numeric("releaseitem")).values_list("pk", "key", "text"):
        labels.objects[("releaseitem", str(pk))] = f"Item “{_short(text)}” ({key})"
    for pk, name in SignoffRequirement.objects.filter(pk__in=numeric("signoffrequirement")).values_list("pk", "name"):
        labels.objects[("signoffrequirement", str(pk))] = f"Requirement “{name}”"
    for approval in Approval.objects.filter(pk__in=numeric("approval")).select_related("requirement", "approver"):
        who = approval.approver.get_full_name() or approval.approver.get_username()
        labels.objects[("approval", str(approval.pk))] = f"Decision on “{approval.requirement.name}” by {who}"
    for waiver in Waiver.objects.filter(pk__in=numeric("waiver")).select_related("item"):
        labels.objects[("waiver", str(waiver.pk))] = f"Waiver for “{_short(waiver.item.text)}” ({waiver.item.key})"
    r = content["release"]
    labels.objects[("release", str(r["id"]))] = f"Release {r['service']} {r['version']} ({r['environment']})"
    return labels


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def value_text(key: str, value, labels: Labels, content_names: dict) -> str:
    if value is None or value == "":
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key in ENUM_KEYS:
        return label(value)
    if key == "assignee":
        return labels.person(value)
    if key == "owner_team":
        return labels.teams.get(value, value)
    if key in ("evidence", "comment") and (key, value) in content_names:
        return content_names[(key, value)]
    if key == "run":
        return "a probe run"
    if isinstance(value, str) and (key.endswith("_at") or key in ("at", "expires_on", "due_date")):
        return when(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def change_text(event: dict, labels: Labels, content_names: dict) -> str:
    """The event's change as "field: before → after" parts, keys sorted (as in the canonical JSON)."""
    before = event["before"] if isinstance(event["before"], dict) else {}
    after = event["after"] if isinstance(event["after"], dict) else {}
    parts = []
    for key in sorted(set(after) | set(before)):
        if key in HIDDEN_KEYS:
            continue
        name = key.replace("_", " ")
        if key in before and key in after and before[key] != after[key]:
            parts.append(f"{name}: {value_text(key, before[key], labels, content_names)} → "
                         f"{value_text(key, after[key], labels, content_names)}")
        elif key in after:
            parts.append(f"{name}: {value_text(key, after[key], labels, content_names)}")
        else:
            parts.append(f"{name} was {value_text(key, before[key], labels, content_names)}")
    return "; ".join(parts) or "—"


def audit_rows(content: dict, labels: Labels) -> list[dict]:
    content_names = {}
    for item in content["items"]:
        for e in item["evidence"]:
            content_names[("evidence", e["id"])] = e["name"]
        for c in item["comments"]:
            content_names[("comment", c["id"])] = f"“{_short(c['body'], 60)}”"
    rows = []
    for event in content["audit"]:
        object_type, _, object_id = event["object"].partition(":")
        rows.append({"id": event["id"], "at": when(event["at"]), "actor": labels.person(event["actor"]),
                     "action": event["action"], "object": labels.thing(object_type, object_id),
                     "change": change_text(event, labels, content_names), "hash": event["hash"]})
    return rows

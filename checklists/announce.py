"""What the checklists app announces to people: sign-off opened, a decision made, approvals voided, a
release approved or drifted, a waiver asked for or decided, items assigned, requirements changed.

Checklists knows nothing of mail, in-app notices or webhooks: the notices app listens (its handlers are
connected when Django starts, notices/apps.py), so the dependency points one way, from notices down to
checklists. Each announcement is a Django signal sent with keyword arguments only, inside the
transaction of the change; the listeners queue their deliveries for after the commit.
"""
from django.dispatch import Signal


class Announcement(Signal):
    def __call__(self, **kwargs) -> None:
        self.send(sender=None, **kwargs)


signoff_opened = Announcement()  # release
decision_made = Announcement()  # approval
approvals_voided = Announcement()  # release, approvals, reason
release_approved = Announcement()  # release
release_drifted = Announcement()  # release, reason, key
waiver_requested = Announcement()  # waiver
waiver_decided = Announcement()  # waiver
item_assigned = Announcement()  # item, by
items_assigned = Announcement()  # items, by
requirements_changed = Announcement()  # release, by, what


def announcements() -> dict[str, Announcement]:
    """Every announcement by name, for a listener that handles each with a function of that name."""
    return {name: value for name, value in globals().items() if isinstance(value, Announcement)}

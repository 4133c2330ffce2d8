"""Sign-off: opening it, approvals, and what item changes do to them."""


def on_item_changed(item, *, by) -> None:
    """Called by every service that changes a release item, inside its transaction."""

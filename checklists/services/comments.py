"""Comments on release items: Markdown, sanitised when shown. A comment is recorded and shown and
supersedes nothing: it is not part of the state an approval vouches for."""
import hashlib

from django.db import transaction

from checklists import permissions
from checklists.audit import record
from checklists.models import Comment, ReleaseItem
from checklists.services.items import ItemError
from checklists.signoff import services as signoff

COMMENT_MAX = 20_000


def comment_add(*, item: ReleaseItem, body: str, by, via: str = "") -> Comment:
    permissions.require_comment(by, item)
    body = (body or "").strip()
    if not body:
        raise ItemError("A comment needs some text.")
    if len(body) > COMMENT_MAX:
        raise ItemError(f"A comment holds at most {COMMENT_MAX} characters.")
    with transaction.atomic():
        signoff.lock_release_for_item_change(item.release_id)
        comment = Comment.objects.create(item=item, author=by, body=body)
        record("checklists.comment.added", actor=by, obj=item, release=item.release,
               after={"comment": comment.pk, "sha256": hashlib.sha256(body.encode()).hexdigest(), **({"via": via} if via else {})})
    # A comment is not part of the state an approval vouches for: it supersedes nothing.
    return comment

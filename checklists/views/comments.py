"""Comment pages: add a comment to an item (Markdown, sanitised when shown)."""
from django.contrib.auth.decorators import login_required
from django.views.decorators.http import require_POST

from checklists import permissions
from checklists.forms import CommentForm
from checklists.services import comments as comment_services
from checklists.services.items import ItemError
from checklists.views.items import detail_part, htmx_refusals, row_item


@require_POST
@login_required
@htmx_refusals
def comment_create(request, release_pk, pk):
    item = permissions.get_item_for_user(request.user, release_pk, pk)
    permissions.require_comment(request.user, item)
    item = row_item(request, release_pk, pk)
    form = CommentForm(request.POST)
    status, text = 400, "Not saved: a comment needs some text."
    if form.is_valid():
        try:
            comment_services.comment_add(item=item, body=form.cleaned_data["body"], by=request.user)
            status, text, form = 200, "Comment added.", CommentForm()
        except ItemError as error:
            text = f"Not saved: {error}"
    return detail_part(request, item, "comments", status, text, comment_form=form)

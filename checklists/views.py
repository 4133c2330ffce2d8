from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from checklists import selectors
from checklists.permissions import visible_releases


@require_GET
@login_required
def dashboard(request):
    releases = selectors.with_progress(
        visible_releases(request.user).select_related("template_version__template", "release_manager")
    ).order_by("-created_at")
    for release in releases:
        release.progress = selectors.percent(release.item_complete, release.item_total)
    return render(request, "checklists/dashboard.html", {"releases": releases})

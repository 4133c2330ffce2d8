"""Checklist templates in the browser: upload with a preview of the parse, the versions of a template,
the diff between two versions, editing a version's items into a new version, Markdown export, and
moving a release to a newer version. Reading is open to everyone with a role; admins and release
managers change templates; a release's manager moves it."""
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from checklists import deciders, checklist_markdown as markdown, permissions
from checklists.models import ChecklistTemplate, Severity, Team, TemplateVersion
from checklists.services import templates as template_services
from checklists.services.releases import ReleaseError

SOURCE_MAX = 2 * 1024 * 1024


def _require_reader(user) -> None:
    if not permissions.roles_of(user):
        raise PermissionDenied("Checklist templates are for members of a team.")


def _version(template, number) -> TemplateVersion:
    try:
        return template.versions.get(number=number)
    except TemplateVersion.DoesNotExist:
        raise Http404("No such version.") from None


class UploadForm(forms.Form):
    file = forms.FileField(required=False, label="Markdown checklist",
                           help_text="The first # heading names the template; an existing name gets a new version.")
    name = forms.CharField(required=False, max_length=200, label="Template name (optional)")
    source = forms.CharField(required=False, widget=forms.HiddenInput, max_length=SOURCE_MAX)
    source_name = forms.CharField(required=False, widget=forms.HiddenInput, max_length=255)


@require_GET
@login_required
def template_list(request):
    _require_reader(request.user)
    templates = ChecklistTemplate.objects.prefetch_related("versions").order_by("name")
    return render(request, "checklists/templates/list.html", {
        "templates": templates, "can_manage": template_services.can_manage_templates(request.user)})


@require_http_methods(["GET", "POST"])
@login_required
def template_upload(request):
    """Upload → preview of the parse → save. The preview carries the decoded text to the save step, so
    what is saved is exactly what was previewed."""
    template_services.require_manage_templates(request.user)
    form = UploadForm(request.POST or None, request.FILES or None)
    context = {"form": form}
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        upload = data["file"]
        name = data["name"].strip() or None
        if upload:
            source_name, raw = template_services.clean_source_name(upload.name), upload.read()
        else:
            source_name, raw = data["source_name"], data["source"].encode()
        if not raw:
            form.add_error("file", "Choose a Markdown file to upload.")
        else:
            try:
                if request.POST.get("action") == "save" and not upload:
                    result = template_services.template_import(data=raw, name=name, source_name=source_name,
                                                               by=request.user)
                    version = result.version
                    if result.created:
                        messages.success(request, f"Saved {version.template.name} version {version.number}: "
                                                  f"{result.sections} sections, {result.items} items.")
                    else:
                        messages.info(request, f"Nothing new: {version.template.name} version {version.number} "
                                               f"holds exactly this checklist.")
                    return redirect("template-version", version.template_id, version.number)
                checklist = template_services.template_preview(data=raw, name=name)
            except markdown.ChecklistError as error:
                form.add_error("file", f"{source_name or 'The file'}: {error}")
            else:
                context.update(preview=_preview(checklist), checklist=checklist, source=raw.decode("utf-8", "replace"),
                               source_name=source_name, name=name or "",
                               existing=ChecklistTemplate.objects.filter(name=(name or checklist.title).strip()).first())
    if form.errors:
        status = 400
    return render(request, "checklists/templates/upload.html", context, status=status)


def _preview(checklist) -> dict:
    sections = list(checklist.walk_sections())
    items = list(checklist.walk_items())
    return {"sections": len(sections), "top": len(checklist.sections), "items": len(items),
            "nested": sum(1 for item, _ in items if item.parent_key),
            "numbered": sum(1 for item, _ in items if item.kind == "numbered"),
            "with_guidance": sum(1 for item, _ in items if item.guidance)}


@require_GET
@login_required
def template_detail(request, pk):
    _require_reader(request.user)
    template = get_object_or_404(ChecklistTemplate, pk=pk)
    versions = list(template.versions.select_related("created_by").order_by("-number"))
    return render(request, "checklists/templates/detail.html", {
        "template": template, "versions": versions,
        "can_manage": template_services.can_manage_templates(request.user)})


@require_GET
@login_required
def template_version(request, pk, number):
    _require_reader(request.user)
    template = get_object_or_404(ChecklistTemplate, pk=pk)
    version = _version(template, number)
    items = list(version.items.select_related("section", "default_team").order_by("order"))
    _depths(items)
    return render(request, "checklists/templates/version.html", {
        "template": template, "version": version, "items": items,
        "newer": template.versions.filter(number__gt=number).order_by("number").first(),
        "can_manage": template_services.can_manage_templates(request.user)})


def _depths(items) -> None:
    depth = {}
    for item in items:
        item.depth = depth[item.parent_id] + 1 if item.parent_id in depth else 0
        depth[item.pk] = item.depth


@require_GET
@login_required
def template_diff(request, pk):
    _require_reader(request.user)
    template = get_object_or_404(ChecklistTemplate, pk=pk)
    try:
        old, new = (_version(template, int(request.GET.get(name, ""))) for name in ("from", "to"))
    except ValueError:
        return render(request, "checklists/templates/diff.html", {
            "template": template, "error": "Choose two versions to compare (from and to)."}, status=400)
    diff = template_services.template_diff(old=old, new=new)
    return render(request, "checklists/templates/diff.html", {"template": template, "diff": diff,
                                                                "versions": template.versions.order_by("-number")})


@require_GET
@login_required
def template_export(request, pk, number):
    _require_reader(request.user)
    template = get_object_or_404(ChecklistTemplate, pk=pk)
    version = _version(template, number)
    response = HttpResponse(template_services.template_version_export(version=version),
                            content_type="text/markdown; charset=utf-8")
    slug = "".join(c if c.isalnum() else "-" for c in template.name.lower()).strip("-")
    response["Content-Disposition"] = f'attachment; filename="{slug}-v{version.number}.md"'
    return response


@require_http_methods(["GET", "POST"])
@login_required
def template_edit(request, pk, number):
    """Edit the items of one top-level section of a version; saving makes a new version."""
    template_services.require_manage_templates(request.user)
    template = get_object_or_404(ChecklistTemplate, pk=pk)
    version = _version(template, number)
    tops = list(version.sections.filter(parent__isnull=True).order_by("order"))
    if not tops:
        raise Http404("This version has no section.")
    chosen = next((s for s in tops if s.key == request.GET.get("section")), tops[0])
    covered = _section_and_children(version, chosen)
    items = list(version.items.filter(section_id__in=covered).select_related("section", "default_team")
                 .order_by("order"))
    _depths(items)
    teams = {str(team.pk): team for team in Team.objects.order_by("name")}
    error = ""
    if request.method == "POST":
        edits, error = _edits_from(request.POST, items, teams)
        if not error:
            try:
                new = template_services.template_version_edit(version=version, edits=edits, by=request.user,
                                                              probe_ids=deciders.known())
            except template_services.TemplateError as exc:
                error = str(exc)
            else:
                messages.success(request, f"Saved as version {new.number}.")
                return redirect(reverse("template-diff", args=[template.pk]) + f"?from={version.number}&to={new.number}")
    return render(request, "checklists/templates/edit.html", {
        "template": template, "version": version, "sections": tops, "chosen": chosen, "items": items,
        "teams": teams.values(), "severities": Severity.choices, "error": error, "data": request.POST,
    }, status=400 if error else 200)


def _section_and_children(version, section) -> set[int]:
    parents = dict(version.sections.values_list("pk", "parent_id"))
    found = {section.pk}
    changed = True
    while changed:
        changed = False
        for pk, parent in parents.items():
            if parent in found and pk not in found:
                found.add(pk)
                changed = True
    return found


def _edits_from(post, items, teams) -> tuple[dict, str]:
    edits = {}
    for item in items:
        if f"text-{item.pk}" not in post:
            continue
        team = post.get(f"team-{item.pk}", "")
        if team and team not in teams:
            return {}, f"Item “{item.text}”: unknown team."
        edits[item.key] = {
            "text": post.get(f"text-{item.pk}", ""),
            "default_team": teams.get(team),
            "required": post.get(f"required-{item.pk}") == "1",
            "severity": post.get(f"severity-{item.pk}", item.severity),
            "probe_id": post.get(f"probe-{item.pk}", ""),
        }
    if not edits:
        return {}, "There is nothing to save."
    return edits, ""


# --- A release moves to a newer version -------------------------------------------------------------
@require_http_methods(["GET", "POST"])
@login_required
def release_template_move(request, pk):
    release = permissions.get_release_for_user(request.user, pk)
    permissions.require_manage_release(request.user, release)
    current = release.template_version
    newer = list(current.template.versions.filter(number__gt=current.number).order_by("-number"))
    target = next((v for v in newer if str(v.pk) == (request.POST.get("to") or request.GET.get("to") or "")),
                  newer[0] if newer else None)
    context = {"release": release, "newer": newer, "target": target}
    status = 200
    if target is not None:
        if request.method == "POST":
            try:
                plan = template_services.release_move_to_version(
                    release=release, to_version=target, by=request.user,
                    from_version_id=int(request.POST.get("from_version") or 0))
            except ReleaseError as error:
                context["error"], status = str(error), 409
            else:
                diff = plan.diff
                messages.success(request, f"Moved to {target}: {diff.unchanged} items unchanged, "
                                          f"{len(diff.changed)} changed ({len(plan.reopened)} reopened), "
                                          f"{len(diff.added)} added, {len(diff.removed)} removed.")
                return redirect("release-detail", release.pk)
        try:
            context["plan"] = template_services.release_move_plan(release=release, to_version=target)
        except ReleaseError as error:
            context["error"], status = str(error), 409 if status == 200 else status
    return render(request, "checklists/templates/move.html", context, status=status)

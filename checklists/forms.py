"""Forms validate and normalise what people type; services save it."""
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

from checklists.models import ReleaseItem, Role, Team, TemplateVersion
from checklists.services.items import KEEP, SETTABLE_STATUSES


class DateInput(forms.DateInput):
    input_type = "date"


class QuickSelect(forms.Select):
    """forms.Select drawn in Python, the same HTML as Django's templates draw it. Those render an
    included template for each option and each option's attributes: an item page's assignee list
    (everyone the viewer may assign) cost more than the rest of its form."""

    def render(self, name, value, attrs=None, renderer=None):
        context = self.get_context(name, value, attrs)["widget"]
        html = [f'<select name="{conditional_escape(context["name"])}"{_attrs(context["attrs"])}>']
        for group_name, options, _ in context["optgroups"]:
            if group_name:
                html.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
            html.extend(f'\n  <option value="{conditional_escape("%s" % (option["value"],))}"{_attrs(option["attrs"])}>'
                        f'{conditional_escape(option["label"])}</option>\n' for option in options)
            if group_name:
                html.append("\n  </optgroup>")
        html.append("\n</select>")
        return mark_safe("".join(html))  # noqa: S308 - every value above is escaped


def _attrs(attrs: dict) -> str:
    """django/forms/widgets/attrs.html: False leaves an attribute out, True writes its name alone."""
    return "".join(f" {conditional_escape(name)}" if value is True else
                   f' {conditional_escape(name)}="{conditional_escape("%s" % (value,))}"'
                   for name, value in attrs.items() if value is not False)


class ListedChoiceIterator(forms.models.ModelChoiceIterator):
    """Choices read with one plain query. Django's own streams them through a server-side cursor (on
    PostgreSQL DECLARE, FETCH and CLOSE: three round trips) to bound the memory of long lists; the
    teams and people of an item form are a few dozen rows, drawn on every item page."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)


class ListedModelChoiceField(forms.ModelChoiceField):
    iterator = ListedChoiceIterator
    widget = QuickSelect


class ReleaseCreateForm(forms.Form):
    template_version = forms.ModelChoiceField(queryset=TemplateVersion.objects.none(), label="Checklist template")
    service = forms.CharField(max_length=100, help_text="The service being released, e.g. payments-api.")
    version = forms.CharField(max_length=100, help_text="The version being released, e.g. 2.4.0.")
    environment = forms.CharField(max_length=50, initial="production")
    target_date = forms.DateField(required=False, widget=DateInput, help_text="Also the items' initial due date.")
    release_manager = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False,
                                             help_text="Defaults to you.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    from_release = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        versions = TemplateVersion.objects.select_related("template").order_by("template__name", "-number")
        self.fields["template_version"].queryset = versions
        self.fields["template_version"].label_from_instance = lambda v: f"{v.template.name} · version {v.number}"
        default = versions.filter(template__name=settings.READINESS_DEFAULT_TEMPLATE).first() or versions.first()
        if default:
            self.fields["template_version"].initial = default.pk
        managers = get_user_model().objects.filter(
            is_active=True, memberships__role__in=[Role.RELEASE_MANAGER, Role.ADMIN]).distinct().order_by("username")
        self.fields["release_manager"].queryset = managers
        self.fields["release_manager"].label_from_instance = lambda u: u.get_full_name() or u.get_username()


class ItemUpdateForm(forms.Form):
    """Any subset of the item's editable fields; only the fields present in the request are changed."""

    EDITABLE = ("status", "owner_team", "assignee", "due_date")

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    # A CharField validated below, so that "waived" gets its own explanation.
    status = forms.CharField(required=False, widget=QuickSelect(choices=[(s.value, s.label) for s in SETTABLE_STATUSES]))
    owner_team = ListedModelChoiceField(queryset=Team.objects.all(), required=False, empty_label="— no team —",
                                        label="Owner team")
    assignee = ListedModelChoiceField(queryset=get_user_model().objects.filter(is_active=True), required=False,
                                      empty_label="— unassigned —")
    due_date = forms.DateField(required=False, widget=DateInput, label="Due date")
    reason = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
                             label="Reason", help_text="Needed to set an item a probe failed to done or not applicable.")
    confirm_void = forms.BooleanField(required=False, label="Save even though it voids approvals")

    def __init__(self, *args, item=None, assignees=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.item = item
        if assignees is not None:
            self.fields["assignee"].queryset = assignees
        self.fields["assignee"].label_from_instance = lambda u: u.get_full_name() or u.get_username()

    def clean_status(self):
        status = self.cleaned_data["status"]
        if "status" in self.data and not status:
            raise forms.ValidationError("Choose a status.")
        if status == ReleaseItem.Status.WAIVED:
            raise forms.ValidationError("An item becomes waived only through a granted waiver: request one instead.")
        if status and status not in SETTABLE_STATUSES:
            raise forms.ValidationError(f"“{status}” is not a status.")
        return status

    def changes(self) -> dict:
        """The submitted fields whose value differs from the item's."""
        result = {}
        for name in self.EDITABLE:
            if name not in self.data:
                continue
            value = self.cleaned_data.get(name)
            current = getattr(self.item, name)
            if value != current:
                result[name] = value
        return result


class BulkFieldsForm(forms.Form):
    """The fields a bulk change may set; blank keeps each item's own value."""

    status = forms.ChoiceField(required=False, widget=QuickSelect)
    owner_team = forms.ChoiceField(required=False, label="Owner team", widget=QuickSelect)
    assignee = forms.ChoiceField(required=False, widget=QuickSelect)
    due_date = forms.DateField(required=False, widget=DateInput, label="Due date")
    clear_due_date = forms.BooleanField(required=False, label="Remove the due date")
    reason = forms.CharField(required=False, max_length=2000, widget=forms.TextInput,
                             help_text="Recorded with every change; needed to mark items not applicable.")

    def __init__(self, *args, teams, assignees, **kwargs):
        super().__init__(*args, **kwargs)
        self.teams = {str(team.pk): team for team in teams}
        self.people = {str(user.pk): user for user in assignees}
        self.fields["status"].choices = [("", "— keep each item's status —")] + [
            (s.value, s.label) for s in SETTABLE_STATUSES]
        self.fields["owner_team"].choices = [("", "— keep each item's team —"), ("none", "— no team —")] + [
            (pk, team.name) for pk, team in self.teams.items()]
        self.fields["assignee"].choices = [("", "— keep each item's assignee —"), ("none", "— unassigned —")] + [
            (pk, user.get_full_name() or user.get_username()) for pk, user in self.people.items()]

    def clean(self):
        data = super().clean()
        team, person = data.get("owner_team"), data.get("assignee")
        data["status"] = data.get("status") or KEEP
        data["owner_team"] = KEEP if not team else (None if team == "none" else self.teams[team])
        data["assignee"] = KEEP if not person else (None if person == "none" else self.people[person])
        if data.get("clear_due_date"):
            if data.get("due_date"):
                self.add_error("due_date", "Either set a due date or remove it, not both.")
            data["due_date"] = None
        elif not data.get("due_date"):
            data["due_date"] = KEEP
        if data["status"] == ReleaseItem.Status.NOT_APPLICABLE and not (data.get("reason") or "").strip():
            self.add_error("reason", "Say why these items do not apply.")
        if not self.errors and all(data[name] is KEEP for name in ("status", "owner_team", "assignee", "due_date")):
            raise forms.ValidationError("Choose a status, an owner team, an assignee or a due date to set.")
        return data

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in ("status", "owner_team", "assignee", "due_date")}


def parse_versions(text: str) -> dict[int, int]:
    """ "12:3,13:1" (item id: version as the page showed it) -> {12: 3, 13: 1}."""
    try:
        pairs = [part.split(":") for part in text.split(",") if part.strip()]
        return {int(pk): int(version) for pk, version in pairs}
    except ValueError:
        raise forms.ValidationError("The list of items is damaged: reload the page.") from None


def format_versions(items) -> str:
    return ",".join(f"{item.pk}:{item.version}" for item in items)


class SectionItemsForm(BulkFieldsForm):
    """Set fields of every item of a section. `versions` carries each item's version as the form was
    loaded, for the optimistic lock."""

    versions = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, items=None, **kwargs):
        super().__init__(*args, **kwargs)
        if items is not None:
            self.initial["versions"] = format_versions(items)

    def clean_versions(self) -> dict[int, int]:
        return parse_versions(self.cleaned_data["versions"])


class BulkItemsForm(BulkFieldsForm):
    """Set fields of the items picked on the release page: the ticked rows, or every row the filter
    shows (`scope=all`). Each value is "item id:version" as the page showed it."""

    scope = forms.ChoiceField(choices=[("selected", "Selected items"), ("all", "All items shown")],
                              required=False)
    item = forms.MultipleChoiceField(required=False)  # "id:version" per ticked row
    shown = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].valid_value = lambda value: True  # checked as id:version pairs below

    def clean(self):
        data = super().clean()
        source = data.get("shown", "") if data.get("scope") == "all" else ",".join(data.get("item") or [])
        try:
            data["versions"] = parse_versions(source)
        except forms.ValidationError as error:
            self.add_error(None, error)
            return data
        if not data["versions"]:
            self.add_error(None, "Select at least one item, or choose all items shown.")
        return data


class EvidenceForm(forms.Form):
    kind = forms.ChoiceField(choices=[("file", "File"), ("link", "Link"), ("note", "Note")])
    file = forms.FileField(required=False, allow_empty_file=True)
    url = forms.CharField(required=False, max_length=2000, label="Link")
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


class CommentForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Comment",
                           help_text="Markdown: **bold**, `code`, lists and links.")

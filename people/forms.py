from django import forms
from django.contrib.auth import get_user_model

from checklists.models import Role, Team


class TeamForm(forms.Form):
    name = forms.CharField(max_length=100)
    slug = forms.SlugField(max_length=60, required=False, help_text="Used in links; made from the name when empty.")


class MembershipForm(forms.Form):
    user = forms.ModelChoiceField(queryset=get_user_model().objects.none())
    role = forms.ChoiceField(choices=Role.choices, initial=Role.ENGINEER)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = get_user_model().objects.filter(is_active=True).order_by("username")
        self.fields["user"].label_from_instance = lambda u: (f"{u.get_full_name()} ({u.username})"
                                                             if u.get_full_name() else u.username)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ReassignForm(forms.Form):
    to = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False, label="Reassign to",
                                empty_label="nobody (unassign)")

    def __init__(self, *args, exclude=None, **kwargs):
        super().__init__(*args, **kwargs)
        users = get_user_model().objects.filter(is_active=True, memberships__isnull=False).distinct()
        if exclude is not None:
            users = users.exclude(pk=exclude.pk)
        self.fields["to"].queryset = users.order_by("username")


class GroupMappingForm(forms.Form):
    group = forms.CharField(max_length=200, help_text="The group's name exactly as the identity provider sends it "
                                                      "in the groups claim.")
    team = forms.ModelChoiceField(queryset=Team.objects.all())
    role = forms.ChoiceField(choices=Role.choices, initial=Role.ENGINEER)

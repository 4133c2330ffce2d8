from django import forms

from checklists.models import Team
from notices.models import Event, Webhook

SUBSCRIBABLE = [(value, label) for value, label in Event.choices if value != Event.TEST]


class WebhookForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.all())
    name = forms.CharField(max_length=100, help_text="e.g. #payments-releases")
    url = forms.URLField(max_length=500, assume_scheme="https", label="URL",
                         help_text="The endpoint's address (http or https).")
    format = forms.ChoiceField(choices=Webhook.Format.choices, initial=Webhook.Format.GENERIC)
    events = forms.MultipleChoiceField(choices=SUBSCRIBABLE, required=False, widget=forms.CheckboxSelectMultiple,
                                       help_text="None ticked: every event.")

    def clean_url(self):
        url = self.cleaned_data["url"]
        if not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError("The URL must start with http:// or https://.")
        return url


class PreferenceForm(forms.Form):
    digest_email = forms.BooleanField(required=False, label="Daily digest by email",
                                      help_text="Your overdue and due-soon items and the approvals waiting for you.")
    waiver_reminder_email = forms.BooleanField(required=False, label="Waiver reminders by email",
                                               help_text="Before a waiver you asked for or manage expires.")
    event_email = forms.BooleanField(required=False, label="Sign-off emails",
                                     help_text="When sign-off opens, a decision is made, approvals are voided, "
                                               "or drift is detected.")

"""Forms for clusters and probe runs: they validate and normalise; services save."""
from django import forms
from django.conf import settings

from probes import bundles, crypto, cluster_collector as live
from probes.models import Cluster, ObservabilityEndpoint


class SecretTextarea(forms.Textarea):
    """A textarea that never renders its value back: a re-displayed form must not echo a secret."""

    def format_value(self, value):
        return None


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else ([data] if data else [])
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class ClusterForm(forms.Form):
    name = forms.SlugField(max_length=100, help_text="Letters, digits and hyphens, e.g. prod-eu-1.")
    description = forms.CharField(max_length=300, required=False)
    auth = forms.ChoiceField(choices=Cluster.Auth.choices, initial=Cluster.Auth.KUBECONFIG, label="Connect with",
                             widget=forms.RadioSelect)
    kubeconfig_text = forms.CharField(
        required=False, strip=False, label="Kubeconfig", widget=SecretTextarea(attrs={"rows": 8, "autocomplete": "off"}),
        help_text="Paste it, or upload the file below. It is encrypted and never shown again.")
    kubeconfig_file = forms.FileField(required=False, label="Kubeconfig file")
    context = forms.CharField(max_length=200, required=False, help_text="Leave empty for its current-context.")

    def clean_name(self):
        name = self.cleaned_data["name"]
        if Cluster.objects.filter(name=name).exists():
            raise forms.ValidationError("A cluster with this name exists already.")
        return name

    def clean(self):
        data = super().clean()
        if data.get("auth") != Cluster.Auth.KUBECONFIG:
            data["kubeconfig"] = None
            return data
        text = data.get("kubeconfig_text") or ""
        upload = data.get("kubeconfig_file")
        if upload:
            if upload.size > 256 * 1024:
                raise forms.ValidationError("That kubeconfig file is larger than 256 KB.")
            try:
                text = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                raise forms.ValidationError("The kubeconfig file is not UTF-8 text.") from None
        if not text.strip():
            raise forms.ValidationError("Paste a kubeconfig or upload its file, or choose the in-cluster account.")
        if not settings.READINESS_SECRETS_KEYS:
            raise forms.ValidationError(
                "No encryption key is configured, so a kubeconfig cannot be stored: set READINESS_SECRETS_KEYS.")
        try:
            crypto.encrypt("", settings.READINESS_SECRETS_KEYS)
            live.parse_kubeconfig(text, context=data.get("context") or None)
        except (crypto.SecretKeyError, live.KubeconfigError) as exc:
            raise forms.ValidationError(str(exc)) from None
        data["kubeconfig"] = text
        return data


class RunProbesForm(forms.Form):
    cluster = forms.ModelChoiceField(queryset=Cluster.objects.all(), required=False, empty_label="—",
                                     label="Cluster")
    bundle = MultipleFileField(required=False, label="Or manifest bundle",
                               help_text=".yaml/.yml files, or a .zip or .tar.gz of a folder (e.g. helm template output).")

    def clean(self):
        data = super().clean()
        cluster, uploads = data.get("cluster"), data.get("bundle") or []
        if bool(cluster) == bool(uploads):
            raise forms.ValidationError("Choose a cluster or upload a manifest bundle (one of the two).")
        if uploads:
            if sum(f.size for f in uploads) > settings.READINESS_MAX_UPLOAD_BYTES:
                raise forms.ValidationError("The upload is larger than the allowed size.")
            try:
                # Listing, names and sizes only: the YAML is parsed by the worker (a bad member ends
                # the run in error naming it and its line), so a large bundle never holds a web worker.
                data["bundle_files"] = bundles.read_uploads(uploads)
            except bundles.BundleError as exc:
                raise forms.ValidationError(str(exc)) from None
            data["bundle_name"] = ", ".join(f.name for f in uploads)
        return data


class EndpointForm(forms.Form):
    name = forms.SlugField(max_length=100, help_text="Letters, digits and hyphens, e.g. prometheus-prod.")
    kind = forms.ChoiceField(choices=ObservabilityEndpoint.Kind.choices)
    url = forms.URLField(max_length=500, label="URL", assume_scheme="https",
                         help_text="Where its HTTP API answers, e.g. https://prometheus.example.internal.")
    environment = forms.CharField(max_length=50, required=False,
                                  help_text="The releases it serves, e.g. production. Empty: every environment "
                                            "without an endpoint of this kind of its own.")
    username = forms.CharField(max_length=200, required=False, help_text="For basic auth; empty for a bearer token.")
    secret = forms.CharField(required=False, strip=False, label="Token or password",
                             widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                             help_text="Encrypted, and never shown again.")
    verify_tls = forms.BooleanField(required=False, initial=True, label="Verify the TLS certificate")

    def clean_name(self):
        name = self.cleaned_data["name"]
        if ObservabilityEndpoint.objects.filter(name=name).exists():
            raise forms.ValidationError("An endpoint with this name exists already.")
        return name

    def clean(self):
        data = super().clean()
        if data.get("secret") and not settings.READINESS_SECRETS_KEYS:
            raise forms.ValidationError(
                "No encryption key is configured, so a token cannot be stored: set READINESS_SECRETS_KEYS.")
        if data.get("username") and not data.get("secret"):
            self.add_error("secret", "Basic auth needs the password.")
        return data

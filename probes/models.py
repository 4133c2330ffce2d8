"""Clusters to probe, probe runs, and the results they stored."""
from django.conf import settings
from django.db import models


def probe_bound() -> models.Q:
    """Release or template items bound to a Kubernetes probe (not to an artifact check or a collector):
    what a probe run evaluates. Only for a query on the items themselves (negation over a relation
    means something else)."""
    return ~models.Q(probe_id="") & ~models.Q(probe_id__startswith="artifact.") & ~models.Q(probe_id__startswith="collector.")


class ClusterStatus(models.TextChoices):
    """The outcome of the last connection test ("" before the first one)."""

    UNKNOWN = "", "Not tested"
    REACHABLE = "reachable", "Reachable"
    UNREACHABLE = "unreachable", "Unreachable"
    FORBIDDEN = "forbidden", "Forbidden"
    ERROR = "error", "Error"


class Cluster(models.Model):
    class Auth(models.TextChoices):
        KUBECONFIG = "kubeconfig", "Kubeconfig"
        IN_CLUSTER = "in_cluster", "In-cluster service account"

    Status = ClusterStatus

    name = models.SlugField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    auth = models.CharField(max_length=20, choices=Auth.choices, default=Auth.KUBECONFIG)
    # Fernet token of the kubeconfig text (key from READINESS_SECRETS_KEYS); never shown back.
    kubeconfig_encrypted = models.TextField(blank=True)
    context = models.CharField(max_length=200, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=20, blank=True, choices=ClusterStatus.choices)
    last_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class RunState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    ERROR = "error", "Error"  # the source could not be read: bad kubeconfig, unreachable, forbidden
    FAILED = "failed", "Failed"  # the run itself broke (worker lost too often, time limit)


class RunTrigger(models.TextChoices):
    MANUAL = "manual", "Manual"
    SCHEDULE = "schedule", "Schedule"
    API = "api", "API"
    UPLOAD = "upload", "Artifact upload"


class ProbeRun(models.Model):
    State = RunState

    Trigger = RunTrigger

    release = models.ForeignKey(
        "checklists.Release", null=True, blank=True, on_delete=models.CASCADE, related_name="probe_runs"
    )
    cluster = models.ForeignKey(Cluster, null=True, blank=True, on_delete=models.PROTECT, related_name="runs")
    bundle = models.FileField(upload_to="bundles/%Y/%m/", blank=True, max_length=300)
    bundle_name = models.CharField(max_length=255, blank=True)
    # A collection run reads these observability endpoints and judges the release's collector-bound items.
    endpoints = models.ManyToManyField("ObservabilityEndpoint", blank=True, related_name="runs")
    # An artifact run judges this one file, attached to an item bound to an artifact check.
    evidence = models.ForeignKey("checklists.Evidence", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="artifact_runs")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.MANUAL)
    message = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)  # counted in the database: survives killed workers
    stats = models.JSONField(default=dict, blank=True)  # API calls, objects per kind, timings
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(state__in=RunState.values), name="probe_run_valid_state"),
        ]
        indexes = [
            # Finding stuck runs and a release's latest run.
            models.Index(fields=["state", "started_at"], name="probe_run_state_idx"),
            models.Index(fields=["release", "-created_at"], name="probe_run_release_idx"),
        ]

    def __str__(self):
        return f"Probe run {self.pk} ({self.state})"

    @property
    def is_collection(self) -> bool:
        """Neither a cluster, nor manifests, nor a file: the release's observability endpoints."""
        return not self.cluster_id and not self.bundle and not self.evidence_id and self.trigger != RunTrigger.UPLOAD

    @property
    def source_label(self) -> str:
        if self.evidence_id:
            return f"artifact {self.evidence.filename} (SHA-256 {self.evidence.sha256[:12]}…)"
        if self.trigger == RunTrigger.UPLOAD:
            return "artifact (file no longer stored)"
        if self.cluster_id:
            return f"cluster {self.cluster.name}"
        if self.is_collection:  # the endpoints it read are named in its stats once it ran
            names = sorted((self.stats or {}).get("endpoints") or {})
            return f"observability endpoints {', '.join(names)}" if names else "observability endpoints"
        return f"manifests {self.bundle_name}" if self.bundle_name else "manifests"


class ResultStatus(models.TextChoices):
    PASS = "pass", "Pass"
    FAIL = "fail", "Fail"
    ERROR = "error", "Error"
    SKIP = "skip", "Skip"


class ProbeResult(models.Model):
    Status = ResultStatus

    run = models.ForeignKey(ProbeRun, on_delete=models.CASCADE, related_name="results")
    item = models.ForeignKey(
        "checklists.ReleaseItem", null=True, blank=True, on_delete=models.CASCADE, related_name="probe_results"
    )
    item_key = models.CharField(max_length=200)
    probe_id = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=Status.choices)
    summary = models.CharField(max_length=500)
    findings = models.JSONField(default=list, blank=True)  # at most READINESS_FINDINGS_PER_PROBE of them
    findings_total = models.PositiveIntegerField(default=0)  # how many the probe found, stored or not
    exempted = models.JSONField(default=list, blank=True)
    observed = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "item_key"]
        constraints = [
            # Idempotence: a run stores one result per item, however often its task runs.
            models.UniqueConstraint(fields=["run", "item_key"], name="probe_result_one_per_item"),
            models.CheckConstraint(condition=models.Q(status__in=ResultStatus.values), name="probe_result_valid_status"),
        ]

    def __str__(self):
        return f"{self.probe_id} {self.status} for {self.item_key}"

    @property
    def findings_omitted(self) -> int:
        """Findings the probe reported beyond what the run stored (the caps in probes.services)."""
        return max(self.findings_total - len(self.findings), 0)


class ObservabilityEndpoint(models.Model):
    """Where a Prometheus, Alertmanager, Grafana, Loki, Jaeger or Tempo answers, for the collectors.

    The token (or basic-auth password) is held like a kubeconfig: Fernet-encrypted with
    READINESS_SECRETS_KEYS and never shown back.
    """

    class Kind(models.TextChoices):
        PROMETHEUS = "prometheus", "Prometheus"
        ALERTMANAGER = "alertmanager", "Alertmanager"
        GRAFANA = "grafana", "Grafana"
        LOKI = "loki", "Loki"
        JAEGER = "jaeger", "Jaeger"
        TEMPO = "tempo", "Tempo"

    Status = ClusterStatus  # the outcome of the last test, as for clusters

    name = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    url = models.URLField(max_length=500)
    # The releases it serves: those of this environment ("production"); empty serves every environment
    # that has no endpoint of this kind of its own.
    environment = models.CharField(max_length=50, blank=True)
    username = models.CharField(max_length=200, blank=True)  # set for basic auth; empty: bearer token
    secret_encrypted = models.TextField(blank=True)  # Fernet token of the bearer token or password
    verify_tls = models.BooleanField(default=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=20, blank=True, choices=ClusterStatus.choices)
    last_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["kind", "environment"], name="obs_endpoint_kind_env_idx")]

    def __str__(self):
        return f"{self.name} ({self.kind})"

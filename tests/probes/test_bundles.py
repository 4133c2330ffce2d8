"""The good and bad app bundles: what a CI run over manifests reports."""
from pathlib import Path

from probes.engine.evaluate import catalogue_bindings, evaluate
from probes.engine.formats import exit_code
from probes.engine.manifests import load_manifests

FIXTURES = Path(__file__).parent / "fixtures"

# What an application bundle can prove on its own; the rest needs the platform or a live cluster.
APP_PROBES = {
    "dapr.sidecars",
    "images.pinned-tags",
    "images.private-registry",
    "images.pull-secrets",
    "networking.default-deny",
    "networking.https-only",
    "networking.ingress-tls",
    "references.dangling",
    "observability.metrics-scraped",
    "observability.servicemonitors",
    "scaling.hpa-bounds",
    "scaling.hpa-coverage",
    "scaling.hpa-cpu-target",
    "scaling.replicas-vs-hpa",
    "security.host-access",
    "security.no-inline-secrets",
    "security.non-root",
    "security.pod-security-admission",
    "security.read-only-root-fs",
    "security.seccomp",
    "security.security-context",
    "security.service-account-token",
    "workloads.disruption-budgets",
    "workloads.health-probes",
    "workloads.pod-spread",
    "workloads.replicas",
    "workloads.resources",
}


def results_for(bundle: str) -> dict:
    snap = load_manifests(FIXTURES / bundle)
    return {r.probe_id: r for r in evaluate(snap, catalogue_bindings())}


def test_good_bundle_passes_every_application_probe():
    results = results_for("good-bundle")
    assert {pid for pid, r in results.items() if r.status == "pass"} == APP_PROBES
    assert not [r for r in results.values() if r.status == "error"]


def test_cluster_probes_skip_on_manifests_and_platform_probes_fail_as_not_in_the_bundle():
    results = results_for("good-bundle")
    for pid in ("cluster.node-count", "cluster.zone-spread", "cluster.node-capacity", "cluster.version"):
        assert results[pid].status == "skip" and "needs a live cluster" in results[pid].outcome.summary
    for pid in ("observability.prometheus-storage", "observability.alert-rules", "logs.loki", "kafka.topic-replicas"):
        assert results[pid].status == "fail" and "in the bundle" in results[pid].outcome.summary


def test_bad_bundle_fails_every_application_probe_naming_objects():
    results = results_for("bad-bundle")
    failed = {pid for pid, r in results.items() if r.status == "fail"}
    # The bad bundle has no dangling reference, host access or autoscaled workload to catch.
    passing = {"observability.servicemonitors", "scaling.hpa-bounds", "scaling.hpa-cpu-target",
               "references.dangling", "scaling.replicas-vs-hpa", "security.host-access"}
    assert APP_PROBES - passing <= failed
    named = {(f.object, f.field) for r in results.values() for f in r.outcome.findings}
    assert ("shop/Deployment/api", "spec.template.spec.containers[api].env[STRIPE_API_KEY].value") in named
    assert ("shop/Deployment/worker", "spec.template.spec.containers[worker].securityContext.privileged") in named
    assert exit_code(list(results.values())) == 1


def test_findings_from_manifests_carry_their_file_and_line():
    results = results_for("bad-bundle")
    [finding] = results["workloads.replicas"].outcome.findings
    assert finding.source.endswith("bad-bundle/shop.yaml") and finding.line == 3


def test_exemption_without_reason_in_the_bad_bundle_is_reported():
    outcome = results_for("bad-bundle")["security.read-only-root-fs"].outcome
    assert ("shop/Deployment/worker", "metadata.annotations.readiness.dev/exempt-reason") in {(f.object, f.field) for f in outcome.findings}


# --- hostile archives: refused from their listing, in the request, naming the member ---------------
import gzip  # noqa: E402
import io  # noqa: E402
import tarfile  # noqa: E402
import time  # noqa: E402
import zipfile  # noqa: E402

import pytest  # noqa: E402

from probes import bundles  # noqa: E402

GIB = 1 << 30


class Upload(io.BytesIO):
    def __init__(self, name, data):
        super().__init__(data)
        self.name = name


def zip_of(entries: dict[str, bytes]) -> Upload:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return Upload("bundle.zip", buffer.getvalue())


def tar_of(entries: dict[str, bytes]) -> Upload:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return Upload("bundle.tar.gz", buffer.getvalue())


def huge_member_targz(size: int = 20 * GIB) -> Upload:
    """A tar.gz whose first member declares `size` bytes of not-YAML, then a manifest. Only the header
    and a first MiB are really there: reading through the member would fail as damaged, not be refused."""
    info = tarfile.TarInfo("chart/image.bin")
    info.size = size
    raw = info.tobuf(format=tarfile.PAX_FORMAT) + b"\0" * (1 << 20)
    return Upload("bundle.tar.gz", gzip.compress(raw))


CM = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"


@pytest.mark.parametrize("archive", [zip_of, tar_of], ids=["zip", "tar.gz"])
@pytest.mark.parametrize("entries, says", [
    ({"a.yaml": CM, "a.yaml/b.yaml": CM}, "a.yaml/b.yaml: a.yaml is a file in the bundle, so it cannot be a folder too"),
    ({"a.yaml/b.yaml": CM, "a.yaml": CM}, "a.yaml: the bundle holds a file and a folder with this name"),
    ({"x" * 300 + ".yaml": CM}, "a file or folder name is longer than 255 bytes"),
    ({"d/" * 2100 + "a.yaml": CM}, "nested more than 32 folders deep"),
    ({("d" * 200 + "/") * 6 + "a.yaml": CM}, "the path is longer than 1024 characters"),
])
def test_member_names_that_could_not_be_files_are_refused_naming_the_member(archive, entries, says):
    with pytest.raises(bundles.BundleError, match=says):
        bundles.read_uploads([archive(entries)])


def test_a_huge_member_that_is_not_yaml_is_refused_from_its_header():
    started = time.monotonic()
    with pytest.raises(bundles.BundleError) as caught:
        bundles.read_uploads([huge_member_targz()])
    assert time.monotonic() - started < 2
    assert str(caught.value).startswith("bundle.tar.gz: chart/image.bin (20.0 GiB) takes the archive over 100.0 MiB")


def test_members_that_are_not_yaml_count_against_the_archive_cap(settings):
    settings.READINESS_BUNDLE_MAX_ARCHIVE_BYTES = 1000
    ok = bundles.read_uploads([tar_of({"a.yaml": CM, "notes.txt": b"x" * 900})])
    assert list(ok.files) == ["a.yaml"]
    with pytest.raises(bundles.BundleError, match="notes.txt .* takes the archive over 1000 bytes"):
        bundles.read_uploads([tar_of({"a.yaml": CM, "notes.txt": b"x" * 1000})])
    # A zip is read from its directory: members that are not manifests are skipped unread.
    assert list(bundles.read_uploads([zip_of({"a.yaml": CM, "notes.txt": b"x" * 5000})]).files) == ["a.yaml"]


def test_a_bundle_is_parsed_in_memory_with_names_as_given():
    bundle = bundles.read_uploads([tar_of({"chart/templates/cm.yaml": CM})])
    snapshot = bundles.load_bundle(bundle, source="up.tar.gz")
    assert snapshot.files == ["chart/templates/cm.yaml"] and snapshot.sources["default/ConfigMap/a"] == (
        "chart/templates/cm.yaml", 1)

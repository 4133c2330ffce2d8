"""Run the probes for CI: `manage.py probe --manifests PATH... | --cluster NAME [--release ID]`.

Exit status: 0 when every probe passed or was skipped, 1 when any failed, 2 on an error (a probe that
could not run, a bundle that cannot be read, a cluster that cannot be reached), with the message on
stderr. Without --release the built-in template's bindings are evaluated and nothing is recorded;
with --release, that release's bindings are evaluated and the run is recorded (trigger "api") with
its results, evidence and item changes, as a run started in the browser would be.
"""
import sys
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from checklists.models import Release
from probes import bundles, crypto, formats, live, services
from probes.evaluate import Binding, evaluate, kinds_needed
from probes.manifests import ManifestError, load_manifests
from probes.models import Cluster, ProbeRun, RunState

ERROR = 2


class Command(BaseCommand):
    help = "Evaluate the probes on manifest files/folders or a cluster; exit 0 pass, 1 fail, 2 error."
    # A CI step, run on every push: the system checks (which import every URLconf and view) would
    # cost more than judging the manifests. `manage.py check` runs them; the web server runs them.
    requires_system_checks = []

    def add_arguments(self, parser):
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--manifests", nargs="+", metavar="PATH",
                            help="YAML files, folders (e.g. helm template output), .zip or .tar.gz archives")
        source.add_argument("--cluster", metavar="NAME", help="a cluster added on the Clusters page")
        parser.add_argument("--release", type=int, metavar="ID",
                            help="use this release's bindings and record the run on it")
        parser.add_argument("--format", choices=formats.FORMATS, default="text")
        parser.add_argument("-o", "--output", metavar="FILE", help="write the report here instead of stdout")

    def handle(self, *args, **options):
        try:
            results = self._results(options)
        except (live.CollectError, ManifestError, bundles.BundleError, crypto.SecretKeyError) as exc:
            raise CommandError(str(exc), returncode=ERROR) from None
        report = formats.render(results, options["format"])
        if options["output"]:
            Path(options["output"]).write_text(report, encoding="utf-8")
        else:
            self.stdout.write(report, ending="")
        code = formats.exit_code(results)
        if code:
            sys.exit(code)

    def _results(self, options):
        if options["release"] is not None:
            return self._recorded(options)
        bindings = self._template_bindings()
        if options["manifests"]:
            bundle = bundles.read_paths(options["manifests"])
            with tempfile.TemporaryDirectory(prefix="readiness-cli-") as folder:
                snapshot = load_manifests(_materialise(bundle, options["manifests"], folder))
                return evaluate(snapshot, bindings, allow_exemptions=settings.READINESS_ALLOW_EXEMPTIONS)
        cluster = self._cluster(options["cluster"])
        snapshot = live.collect_cluster(sorted(kinds_needed(bindings)), kubeconfig=services.cluster_kubeconfig(cluster),
                                        context=cluster.context or None, source=f"cluster:{cluster.name}")
        return evaluate(snapshot, bindings, allow_exemptions=settings.READINESS_ALLOW_EXEMPTIONS)

    def _recorded(self, options):
        try:
            release = Release.objects.get(pk=options["release"])
        except Release.DoesNotExist:
            raise CommandError(f"No release with id {options['release']}.", returncode=ERROR) from None
        if options["manifests"]:
            source = {"bundle": bundles.read_paths(options["manifests"]),
                      "bundle_name": ", ".join(options["manifests"])}
        else:
            source = {"cluster": self._cluster(options["cluster"])}
        try:
            run = services.run_create(release=release, trigger=ProbeRun.Trigger.API, queue=False, **source)
        except services.ProbeRunError as exc:
            raise CommandError(str(exc), returncode=ERROR) from None
        execution = services.run_execute(run_id=run.pk)
        if execution.run is None or execution.run.state != RunState.DONE:
            run.refresh_from_db()
            raise CommandError(f"Probe run {run.pk} ended {run.state}: {run.message}", returncode=ERROR)
        self.stderr.write(f"Recorded probe run {run.pk} on {release}: {execution.run.message}")
        return execution.results

    def _cluster(self, name: str) -> Cluster:
        try:
            return Cluster.objects.get(name=name)
        except Cluster.DoesNotExist:
            raise CommandError(f"No cluster named {name!r}; add it on the Clusters page.", returncode=ERROR) from None

    def _template_bindings(self) -> list[Binding]:
        """The built-in template's bindings, from its newest imported version (imported if needed)."""
        from checklists.seed import load_default_template

        version = load_default_template().version
        items = version.items.exclude(probe_id="").order_by("order").values_list("key", "probe_id", "probe_params")
        from probes.bindings import group

        return group({key: {"probe": probe_id, "params": params or {}} for key, probe_id, params in items})


def _materialise(bundle: bundles.Bundle, paths: list[str], folder: str) -> Path | list[Path]:
    """Plain files and folders are read where they are (findings then name the user's own paths,
    as SARIF needs); archives are unpacked, with the bundle checks, into `folder`."""
    if all(not str(p).lower().endswith(bundles.ARCHIVE_SUFFIXES) for p in paths):
        return [Path(p) for p in paths]
    return bundle.write_to(Path(folder))

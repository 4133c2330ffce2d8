"""Run the probes for CI: `manage.py probe --manifests PATH... | --cluster NAME [--release ID]`.

`--probe ID` (repeatable) runs only those probes, `--params FILE` (YAML: probe id -> params) sets
their thresholds, and `--template NAME` takes the bindings of another imported template.

Exit status: 0 when every probe passed or was skipped, 1 when any failed, 2 on an error (a probe that
could not run, a bundle that cannot be read, a cluster that cannot be reached), with the message on
stderr. Without --release the built-in template's bindings are evaluated and nothing is recorded;
with --release, that release's bindings are evaluated and the run is recorded (trigger "api") with
its results, evidence and item changes, as a run started in the browser would be.
"""
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from checklists.models import Release
from probes import bundles, crypto, cluster_collector as live
from probes.engine import formats
from probes.engine.outcome import CATALOGUE, ParamsError
from probes.engine.evaluate import Binding, evaluate, kinds_needed
from probes.engine.manifests import ManifestError, load_manifests
from probes.models import Cluster, ProbeRun, RunState
from readiness import safe_yaml

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
        parser.add_argument("--probe", action="append", metavar="ID", dest="probes",
                            help="run only this probe (repeatable); one the template does not bind runs with its defaults")
        parser.add_argument("--params", type=Path, metavar="FILE",
                            help="YAML mapping each probe id to params that replace the bindings' (e.g. workloads.replicas: {min_replicas: 3})")
        parser.add_argument("--template", metavar="NAME", help="use this imported template's bindings instead of the built-in one's")
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
        bindings = _select(self._template_bindings(options["template"]), options["probes"], _read_params(options["params"]))
        if options["manifests"]:
            snapshot = _snapshot(options["manifests"])
            if snapshot.note:
                self.stderr.write(snapshot.note)
            return evaluate(snapshot, bindings, allow_exemptions=settings.READINESS_ALLOW_EXEMPTIONS)
        from probes import services  # with the job queue it loads: not for manifests (see _recorded)

        cluster = self._cluster(options["cluster"])
        snapshot = live.collect_cluster(sorted(kinds_needed(bindings)), kubeconfig=services.cluster_kubeconfig(cluster),
                                        context=cluster.context or None, source=f"cluster:{cluster.name}")
        return evaluate(snapshot, bindings, allow_exemptions=settings.READINESS_ALLOW_EXEMPTIONS)

    def _recorded(self, options):
        # Imported here: probes.services loads the job queue (Celery, Redis), half a second a CI
        # step judging manifests without recording them need not pay.
        from probes import services

        if options["probes"] or options["params"] or options["template"]:
            raise CommandError("--probe, --params and --template choose what to evaluate without recording; "
                               "a recorded run (--release) evaluates the release's own bindings", returncode=ERROR)
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

    def _template_bindings(self, template_name: str | None = None) -> list[Binding]:
        """The template's bindings, from its newest imported version: the built-in template's
        (imported if needed) unless `template_name` names another."""
        if template_name:
            from checklists.models import ChecklistTemplate

            template = ChecklistTemplate.objects.filter(name=template_name).first()
            version = template.latest_version() if template else None
            if version is None:
                names = ", ".join(ChecklistTemplate.objects.order_by("name").values_list("name", flat=True)) or "none"
                raise CommandError(f"No template named {template_name!r} (templates: {names}).", returncode=ERROR)
        else:
            from checklists.seed import load_default_template

            version = load_default_template().version
        from probes.models import probe_bound

        items = version.items.filter(probe_bound()).order_by("order").values_list("key", "probe_id", "probe_params")
        from probes.engine.bindings import group

        return group({key: {"probe": probe_id, "params": params or {}} for key, probe_id, params in items})


def _snapshot(paths: list[str]):
    """Plain files and folders are read where they are (findings then name the user's own paths, as
    SARIF needs; links leaving a folder are refused); archives are read, with the bundle checks, in
    memory. The YAML budget and object cap of the settings apply to both."""
    bundle = bundles.read_paths(paths)
    if any(str(p).lower().endswith(bundles.ARCHIVE_SUFFIXES) for p in paths):
        return bundles.load_bundle(bundle, source=",".join(paths))
    return load_manifests(paths, limits=bundles.yaml_limits(), max_objects=settings.READINESS_BUNDLE_MAX_OBJECTS)


def _read_params(path: Path | None) -> dict[str, dict]:
    """{probe id: params} from a --params file, each validated by its probe."""
    if path is None:
        return {}
    try:
        data = safe_yaml.load(path.read_text(encoding="utf-8"), name=str(path)) or {}
    except (OSError, UnicodeDecodeError, safe_yaml.YamlError) as exc:
        raise CommandError(f"{path}: cannot read params: {exc}", returncode=ERROR) from None
    if not isinstance(data, dict):
        raise CommandError(f"{path}: expected a mapping of probe ids to params", returncode=ERROR)
    for probe_id, params in data.items():
        if probe_id not in CATALOGUE:
            raise CommandError(f"{path}: unknown probe {probe_id!r}", returncode=ERROR)
        try:
            CATALOGUE[probe_id].parse_params(params if params is not None else {})
        except ParamsError as exc:
            raise CommandError(f"{path}: {exc}", returncode=ERROR) from None
    return {probe_id: params or {} for probe_id, params in data.items()}


def _select(bindings: list[Binding], probe_ids: list[str] | None, params: dict[str, dict]) -> list[Binding]:
    """Only the asked-for probes (a probe the template does not bind runs once, for the items the
    catalogue says it decides), each with the --params file's params in place of the bindings'."""
    if probe_ids:
        unknown = [p for p in probe_ids if p not in CATALOGUE]
        if unknown:
            raise CommandError(f"Unknown probe(s): {', '.join(unknown)}.", returncode=ERROR)
        bound = {b.probe_id for b in bindings}
        bindings = [b for b in bindings if b.probe_id in probe_ids]
        bindings += [Binding(p, {}, CATALOGUE[p].items) for p in dict.fromkeys(probe_ids) if p not in bound]
    if not params:
        return bindings
    unused = sorted(set(params) - {b.probe_id for b in bindings})
    if unused:
        raise CommandError(f"--params sets {', '.join(unused)}, which this run does not evaluate; add --probe {unused[0]}", returncode=ERROR)
    merged: dict[tuple, Binding] = {}
    for b in bindings:
        replaced = params.get(b.probe_id, b.params)
        key = (b.probe_id, repr(sorted(replaced.items())))
        previous = merged.get(key)
        merged[key] = Binding(b.probe_id, replaced, (previous.items if previous else ()) + b.items)
    return list(merged.values())



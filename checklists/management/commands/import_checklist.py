from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from checklists.checklist_markdown import ChecklistError
from checklists.services.templates import template_import
from readiness import safe_yaml

METADATA_MAPPINGS = ("teams", "team_names", "severity", "probes")


class Command(BaseCommand):
    help = "Create a new template version from a Markdown checklist (re-importing the same file changes nothing)."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--name", help="template name (default: the document's # title)")
        parser.add_argument("--metadata", type=Path, help="YAML with teams, severities, probe bindings, sign-off")

    def handle(self, path, name, metadata, **options):
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}") from None
        extra = _metadata(metadata) if metadata else None
        try:
            result = template_import(data=data, name=name, source_name=path.name, metadata=extra)
        except ChecklistError as exc:
            raise CommandError(f"{path}: {exc}") from None
        version = result.version
        if result.created:
            self.stdout.write(f"Imported {version.template.name} v{version.number}: "
                              f"{result.sections} sections, {result.items} items.")
        else:
            self.stdout.write(f"Unchanged: {version.template.name} v{version.number} already holds this file.")


def _metadata(path: Path) -> dict:
    """The --metadata file: a YAML mapping (aliases and depth within the loader's budget)."""
    try:
        data = safe_yaml.load(path.read_text(encoding="utf-8"), name=str(path))
    except OSError as exc:
        raise CommandError(f"{path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CommandError(f"{path}: not UTF-8 text") from None
    except safe_yaml.YamlError as exc:
        raise CommandError(str(exc)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CommandError(f"{path}: expected a mapping (teams, severity, probes, signoff), found {type(data).__name__}")
    for key in METADATA_MAPPINGS:
        if not isinstance(data.get(key, {}), dict):
            raise CommandError(f"{path}: {key} must be a mapping")
    if not isinstance(data.get("signoff", []), list):
        raise CommandError(f"{path}: signoff must be a list")
    return data

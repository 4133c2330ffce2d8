"""The built-in default template: the production-readiness checklist our first users run."""
from pathlib import Path

from django.conf import settings

from checklists.models import Team
from readiness import safe_yaml

SEED_DIR = Path(__file__).resolve().parent
CHECKLIST = SEED_DIR / "production-readiness-checklist.md"


def seed_metadata() -> dict:
    path = SEED_DIR / "production-readiness.yaml"
    metadata = safe_yaml.load(path.read_text(encoding="utf-8"), name=str(path))
    bindings = SEED_DIR / "probe-bindings.yaml"
    metadata["probes"] = ((safe_yaml.load(bindings.read_text(encoding="utf-8"), name=str(bindings)) or {})
                          if bindings.exists() else {})
    return metadata


def ensure_seed_teams(metadata: dict) -> None:
    names = metadata.get("team_names", {})
    existing = set(Team.objects.filter(slug__in=names).values_list("slug", flat=True))  # usually all of them
    for slug, name in names.items():
        if slug not in existing:
            Team.objects.get_or_create(slug=slug, defaults={"name": name})


def load_default_template(*, by=None):
    """Import (or find) the seed template with its teams, sign-off defaults and probe bindings.

    Found by its file's digest once imported (the probe command asks on every run): parsing the file
    again, only to learn the title the template is named after, would prove nothing the digest does not.
    The file's title is READINESS_DEFAULT_TEMPLATE (tests/checklists/test_importer.py holds it to that).
    """
    from checklists.services.templates import template_import, template_imported_before

    metadata = seed_metadata()
    ensure_seed_teams(metadata)
    metadata.pop("team_names", None)
    data = CHECKLIST.read_bytes()
    return (template_imported_before(data=data, name=settings.READINESS_DEFAULT_TEMPLATE, metadata=metadata)
            or template_import(data=data, source_name=CHECKLIST.name, metadata=metadata, by=by))

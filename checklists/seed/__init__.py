"""The built-in default template: the production-readiness checklist our first users run."""
from pathlib import Path

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
    for slug, name in metadata.get("team_names", {}).items():
        Team.objects.get_or_create(slug=slug, defaults={"name": name})


def load_default_template(*, by=None):
    """Import (or find) the seed template with its teams, sign-off defaults and probe bindings."""
    from checklists.services.templates import template_import

    metadata = seed_metadata()
    ensure_seed_teams(metadata)
    metadata.pop("team_names", None)
    return template_import(data=CHECKLIST.read_bytes(), source_name=CHECKLIST.name, metadata=metadata, by=by)

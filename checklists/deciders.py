"""The names of what can decide an item automatically (probes, artifact checks, collectors).

The checklists app records verdicts and knows nothing of how they are reached; the probes app tells it,
when Django starts, which check ids exist (probes/apps.py), so that a template's bindings can be
checked without checklists importing probes.
"""
_known: set[str] = set()


def register(check_ids) -> None:
    _known.update(check_ids)


def known() -> set[str]:
    return set(_known)

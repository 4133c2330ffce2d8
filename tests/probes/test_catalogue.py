"""Every probe in the catalogue: a passing case, a failing case naming the offender, exemptions."""
import pytest
from tests.probes.catalogue_cases import CASES, Case
from tests.probes.probe_builders import exempt, run, snapshot

from probes.engine.outcome import CATALOGUE
from probes.engine.exemptions import EXEMPT_REASON
from probes.engine.objects import ref


def _snap(case: Case, objects, server_version=None):
    return snapshot(*objects, live=case.live, server_version=server_version or case.server_version)


def _bad(case: Case):
    return _snap(case, case.bad, case.bad_server_version)


def test_every_probe_has_cases():
    assert sorted(c.probe for c in CASES) == sorted(CATALOGUE)


@pytest.mark.parametrize("case", CASES, ids=Case.id.fget)
def test_passes(case):
    outcome = run(case.probe, _snap(case, case.good), case.params)
    assert outcome.status == "pass", (outcome.summary, outcome.findings)
    assert outcome.findings == []


@pytest.mark.parametrize("case", CASES, ids=Case.id.fget)
def test_fails_naming_the_offender(case):
    outcome = run(case.probe, _bad(case), case.params)
    assert outcome.status == "fail", outcome.summary
    if case.finding:
        named = {(f.object, f.field) for f in outcome.findings}
        assert case.finding in named, named
        assert all(f.message for f in outcome.findings)
    if case.summary:
        assert case.summary in outcome.summary


def _exempted_objects(case: Case, reason="accepted risk, ticket OPS-1"):
    target = case.exempt or case.finding[0]
    source = case.good if case.exempt_in == "good" else case.bad
    found, objects = False, []
    for obj in source:
        if ref(f"{obj['apiVersion']}/{obj['kind']}", obj) == target:
            obj, found = exempt(obj, case.probe, reason), True
        objects.append(obj)
    assert found, f"{target} is not among the case's objects"
    return target, objects


EXEMPTABLE = [c for c in CASES if c.exemptable]


@pytest.mark.parametrize("case", EXEMPTABLE, ids=Case.id.fget)
def test_exempted_object_is_left_out_and_listed(case):
    target, objects = _exempted_objects(case)
    outcome = run(case.probe, _snap(case, objects, case.bad_server_version), case.params)
    assert outcome.status in case.exempted_status, (outcome.summary, outcome.findings)
    assert outcome.exempted == [f"{target}: accepted risk, ticket OPS-1"]
    assert all(f.object != target for f in outcome.findings)


@pytest.mark.parametrize("case", EXEMPTABLE, ids=Case.id.fget)
def test_exemptions_can_be_turned_off(case):
    _, objects = _exempted_objects(case)
    outcome = run(case.probe, _snap(case, objects, case.bad_server_version), case.params, allow_exemptions=False)
    assert outcome.status == ("pass" if case.exempt_in == "good" else "fail")
    assert outcome.exempted == []
    assert outcome.observed["exemptions_ignored"] == 1


@pytest.mark.parametrize("case", EXEMPTABLE, ids=Case.id.fget)
def test_exemption_without_reason_is_not_honoured(case):
    target, objects = _exempted_objects(case, reason=None)
    outcome = run(case.probe, _snap(case, objects, case.bad_server_version), case.params)
    assert outcome.status == "fail"
    assert outcome.exempted == []
    assert (target, f"metadata.annotations.{EXEMPT_REASON}") in {(f.object, f.field) for f in outcome.findings}


def test_server_version_judges_no_objects():
    # Nothing to annotate: the version probe reads no kinds, so it has no exemption case.
    assert CATALOGUE["cluster.version"].kinds == ()

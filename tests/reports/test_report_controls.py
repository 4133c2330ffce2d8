"""The report shows the new proof: overrides of failed probes with the probe's findings at the time, the
sign-off rules in force, and every change to a requirement that came from the template (issues 8 §3,
9 §1 and §4). Content, PDF read back with pypdf, Markdown; and a report of the schema before verifies."""
import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from checklists.models import ChecklistTemplate, ItemOverride, ReleaseItem
from checklists.services import items as item_services
from checklists.signoff import services as signoff
from probes import bundles
from probes import services as probe_services
from reports import content as report_content
from reports import services as reports
from reports.pdf import render_pdf
from reports.verify import verify_pdf
from tests.factories import change_item

COVERAGE = "testing.unit-tests-cover-critical-business-logic-80"  # artifact.coverage.threshold
pytestmark = pytest.mark.django_db

BAD_BUNDLE = Path(__file__).resolve().parents[1] / "probes" / "bundles" / "bad"
REASON = "Scaled to three by the platform team's HPA at deploy time; tracked in OPS-77."
V1, V2 = report_content.SCHEMAS[:2]


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def overridden(release, people):
    """A probe failed an item, then an engineer set it done with a reason."""
    run = probe_services.run_create(release=release, bundle=bundles.read_paths([BAD_BUNDLE]), bundle_name="bad",
                                    queue=False)
    probe_services.run_execute(run_id=run.pk)
    engineer = people["engineer"]
    item = (release.items.filter(probe_status="fail", owner_team__memberships__user=engineer)
            .filter(evidence__probe_result__status="fail").exclude(evidence__probe_result__findings=[])
            .order_by("order").first())
    assert item is not None and item.status == ReleaseItem.Status.FAILED
    item_services.item_set_status(item=item, status="done", by=people["engineer"], expected_version=item.version,
                                  reason=REASON)
    return ItemOverride.objects.get(item=item)


@pytest.fixture
def weakened(release, people):
    """An admin narrowed a requirement that came from the template, and removed another."""
    platform = release.requirements.get(name="Platform")
    assert platform.from_template
    release.release_manager = people["admin"]
    release.save(update_fields=["release_manager"])
    signoff.requirement_update(requirement=platform, by=people["admin"], name="Platform", role="", team=platform.team)
    other = release.requirements.exclude(pk=platform.pk).filter(from_template=True).first()
    signoff.requirement_delete(requirement=other, by=people["admin"])
    return platform, other.name


def test_the_content_lists_each_override_with_the_probe_findings_at_the_time(release, overridden, people):
    content = report_content.build(release)
    assert content["schema"] == "readiness.report/3"
    [row] = content["controls"]["overrides"]
    item = overridden.item
    assert (row["item"], row["text"], row["to_status"], row["from_status"], row["reason"]) == (
        item.key, item.text, "done", "failed", REASON)
    assert row["by"] == report_content._who(people["engineer"]) and row["at"].startswith(str(overridden.created_at.date()))
    assert row["probe_summary"] and row["probe_summary"] == overridden.probe_summary
    assert row["probe_findings"] == overridden.probe_findings and row["probe_findings"]
    # A later probe run does not rewrite the record of what the person overrode.
    summary = row["probe_summary"]
    ItemOverride.objects.filter(pk=overridden.pk).update(reason=REASON)
    assert report_content.build(release)["controls"]["overrides"][0]["probe_summary"] == summary


def test_the_content_keeps_every_key_of_the_schema_before(release, overridden):
    new, old = report_content.build(release), report_content.build(release, schema=V1)
    assert old["schema"] == V1 and "controls" not in old
    assert {k: v for k, v in new.items() if k not in ("schema", "controls")} == {
        k: v for k, v in old.items() if k != "schema"}
    with pytest.raises(ValueError):
        report_content.build(release, schema="readiness.report/99")


def test_schema_2_is_schema_3_without_the_params_set_on_checks(release, people):
    item = release.items.get(key=COVERAGE)
    probe_services.item_set_params(item=item, text="line_min: 5", by=people["manager"], expected_version=item.version)
    new, old = report_content.build(release), report_content.build(release, schema=V2)
    [row] = new["controls"].pop("check_params")
    assert (row["item"], row["check"], row["before"], row["after"]) == (
        COVERAGE, "artifact.coverage.threshold", {"line_min": 80}, {"line_min": 5})
    assert row["by"] == people["manager"].get_username()
    assert {**new, "schema": V2} == old


def test_the_rules_in_force_say_plainly_when_one_person_may_decide_several(release):
    rules = report_content.build(release)["controls"]["rules"]
    assert rules["override_policy"] == "reason" and rules["one_person_many_requirements"] is False
    assert rules["separation_rule"] == report_content.ONE_PERSON_ONE_REQUIREMENT
    ChecklistTemplate.objects.filter(pk=release.template_version.template_id).update(
        one_person_many_requirements=True, override_policy="waiver")
    rules = report_content.build(release)["controls"]["rules"]
    assert rules["one_person_many_requirements"] is True
    assert "one person decide several sign-off requirements" in rules["separation_rule"]
    assert rules["override_rule"].startswith("A failed probe cannot be overridden")


def test_changes_to_template_requirements_are_listed_and_others_are_not(release, weakened, people):
    platform, removed = weakened
    signoff.requirement_create(release=release, by=people["admin"], name="Extra", role="approver")
    extra = release.requirements.get(name="Extra")
    signoff.requirement_update(requirement=extra, by=people["admin"], name="Extra", role="auditor")
    changes = report_content.build(release)["controls"]["template_requirement_changes"]
    admin = people["admin"].get_username()
    assert [(c["action"], c["requirement"], c["by"]) for c in changes] == [
        ("changed", "Platform", admin), ("removed", removed, admin)]
    changed, gone = changes
    assert changed["before"]["role"] and changed["after"]["role"] == "" and changed["before"]["from_template"]
    assert gone["after"] is None and gone["before"]["name"] == removed


def test_the_pdf_and_the_markdown_show_all_four(release, overridden, weakened, people):
    ChecklistTemplate.objects.filter(pk=release.template_version.template_id).update(one_person_many_requirements=True)
    platform, removed = weakened
    coverage = release.items.get(key=COVERAGE)
    probe_services.item_set_params(item=coverage, text="line_min: 5", by=people["admin"],
                                   expected_version=coverage.version)
    report, _ = reports.report_request(release=release, fmt="pdf", by=people["auditor"])
    from reports.tasks import generate_report

    assert generate_report(report.pk) == "ready"
    report.refresh_from_db()
    with report.file.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    text = _flat("\n".join(page.extract_text() for page in reader.pages))
    heading = "Sign-off requirements and decisions"
    signoff_part = text[text.index(heading, text.index(heading) + 1):]  # the chapter, not the contents
    signoff_part = signoff_part[:signoff_part.index("Waivers")]
    assert "Sign-off rules in force" in signoff_part
    assert "One person may decide several requirements of this release." in signoff_part
    assert "Overrides of failed probes" in signoff_part and _flat(REASON) in signoff_part
    assert overridden.item.key in signoff_part.replace(" ", "") or overridden.item.key in signoff_part
    assert _flat(overridden.probe_summary) in signoff_part
    assert "Changes to requirements from the template" in signoff_part
    assert f"{removed} removed" in signoff_part and "Platform changed" in signoff_part
    params_part = signoff_part[signoff_part.index("Params set on checks"):]
    assert COVERAGE in params_part.replace(" ", "") and '{"line_min":5}' in params_part.replace(" ", "")

    md = reports.report_render(release=release, fmt="md").data.decode()
    assert "### Sign-off rules in force" in md
    assert "**One person may decide several requirements of this release.**" in md
    assert f"by {report_content._who(people['engineer'])}: {_flat(REASON)}" in md and overridden.probe_summary in md
    admin = people["admin"].get_username()
    assert f"{admin} removed **{removed}**" in md and f"{admin} changed **Platform**" in md
    assert f'set **{COVERAGE}** (artifact.coverage.threshold): {{"line_min":80}} → {{"line_min":5}}' in md


def test_a_release_with_no_override_and_the_default_rules_says_so(release, people):
    md = reports.report_render(release=release, fmt="md").data.decode()
    assert "* **One person, one requirement.** " + report_content.ONE_PERSON_ONE_REQUIREMENT in md
    assert "* No person overrode a failed probe." in md
    assert "* No requirement that came from the template was changed or removed." in md


def test_a_report_of_the_schema_before_still_matches_then_is_only_changed_since(release, overridden, people):
    old = report_content.build(release, schema=V1)
    manifest = report_content.manifest_of(old)
    data = render_pdf(old, manifest)
    result = verify_pdf(data)
    assert result.authentic, result.file.problems
    assert result.current and result.ok  # the new key alone is no change to what the old report describes
    change_item(release.items.exclude(status="done").order_by("order").first(), status="in_progress",
                by=people["engineer"])
    result = verify_pdf(data)
    assert result.authentic and not result.current  # changed since, never forged
    assert result.changes and not any("controls" in change for change in result.changes)

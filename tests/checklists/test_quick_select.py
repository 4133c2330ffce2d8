"""QuickSelect draws a <select> in Python: the same HTML, byte for byte, as Django's Select and its
templates, for every case the item and bulk forms meet and the odd ones they might."""
import pytest
from django import forms
from django.utils.safestring import mark_safe

from checklists.forms import BulkFieldsForm, ItemUpdateForm, QuickSelect
from checklists.models import Team

CHOICES = [("", "— unassigned —"), ("1", "Ada <b>Lovelace</b> & \"co\""), (2, "O'Brien"), ("x y", mark_safe("<em>safe</em>"))]


@pytest.mark.parametrize("value", [None, "", "1", 2, "2", "x y", "missing"])
@pytest.mark.parametrize("attrs", [None, {"id": "id_assignee"},
                                   {"id": "a\"b", "required": True, "disabled": False, "class": "x<y", "data-n": 3}])
def test_it_draws_what_djangos_select_draws(value, attrs):
    assert QuickSelect(choices=CHOICES).render("assignee", value, attrs) == \
        forms.Select(choices=CHOICES).render("assignee", value, attrs)


def test_groups_and_option_attributes_too():
    def create_option(self, *args, **kwargs):
        option = forms.Select.create_option(self, *args, **kwargs)
        option["attrs"]["data-label"] = f"<{option['label']}>"
        return option

    Marked = type("Marked", (QuickSelect,), {"create_option": create_option})
    MarkedPlain = type("MarkedPlain", (forms.Select,), {"create_option": create_option})

    grouped = [("Teams & <people>", [("1", "one"), ("2", "two")]), ("3", "three"), ("Empty", [])]
    assert Marked(choices=grouped).render("g", "2", {"id": "g"}) == MarkedPlain(choices=grouped).render("g", "2", {"id": "g"})


@pytest.mark.django_db
def test_the_item_and_bulk_forms_fields_are_unchanged(people, release):
    item = release.items.select_related("owner_team").first()
    item.assignee = people["engineer"]
    form = ItemUpdateForm(initial={"version": 1, "status": "done", "owner_team": item.owner_team_id,
                                   "assignee": people["engineer"].pk}, item=item)
    teams = list(Team.objects.order_by("name"))
    bulk = BulkFieldsForm(teams=teams, assignees=[people["engineer"], people["manager"]])
    for bound in (form["status"], form["owner_team"], form["assignee"], bulk["status"], bulk["owner_team"],
                  bulk["assignee"]):
        assert isinstance(bound.field.widget, QuickSelect)
        plain = forms.Select(choices=bound.field.widget.choices, attrs=bound.field.widget.attrs)
        drawn = str(bound)
        assert drawn == plain.render(bound.html_name, bound.value(), bound.build_widget_attrs({"id": bound.auto_id}))
        assert "<option" in drawn

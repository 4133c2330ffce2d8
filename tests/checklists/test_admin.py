"""Every model is in the admin, and its pages open for an admin."""
import pytest
from django.contrib import admin
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_every_model_of_ours_is_registered():
    registered = {model._meta.label for model in admin.site._registry}
    from django.apps import apps

    ours = {model._meta.label for app in ("checklists", "probes", "people", "notices", "api")
            for model in apps.get_app_config(app).get_models()}
    assert ours <= registered


def test_admin_changelists_and_change_pages_open(client, people, release):
    from api.services import token_create

    token_create(name="admin page", by=people["manager"])
    client.force_login(people["admin"])
    people["admin"].is_staff = people["admin"].is_superuser = True
    people["admin"].save()
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in ("checklists", "probes", "people", "notices", "api"):
            continue
        info = (model._meta.app_label, model._meta.model_name)
        assert client.get(reverse("admin:%s_%s_changelist" % info)).status_code == 200, info
        first = model.objects.first()
        if first is not None:
            assert client.get(reverse("admin:%s_%s_change" % info, args=[first.pk])).status_code == 200, info

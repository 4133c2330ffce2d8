import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from checklists.models import Release, ReleaseItem
from probes.models import ProbeRun

pytestmark = pytest.mark.django_db


def test_seed_demo_loads_users_a_release_and_probe_results_once():
    call_command("seed_demo")
    call_command("seed_demo")  # again: nothing doubles
    release = Release.objects.get()
    assert (release.service, release.release_manager.username) == ("todo-app", "manager")
    assert get_user_model().objects.get(username="alice").check_password("readiness-demo")
    run = ProbeRun.objects.get()
    assert run.state == ProbeRun.State.DONE
    decided = release.items.filter(decided_by_probe=True)
    assert decided.filter(status=ReleaseItem.Status.DONE).exists()
    assert decided.filter(status=ReleaseItem.Status.FAILED).exists()

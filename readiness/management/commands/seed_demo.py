import datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from checklists.models import Membership, Release, Role, Team
from checklists.seed import load_default_template
from checklists.services.releases import release_create
from readiness.demo import DEMO_PASSWORD, DEMO_USERS

OWN_MANIFESTS = Path(settings.BASE_DIR) / "docker" / "k8s"


class Command(BaseCommand):
    help = "Load the built-in template, demo teams and users, and one demo release (safe to run again)."

    @transaction.atomic
    def handle(self, **options):
        result = load_default_template()
        users = get_user_model().objects
        admin, created = users.get_or_create(username="admin", defaults={"is_staff": True, "is_superuser": True,
                                                                         "first_name": "Ada", "last_name": "Admin"})
        if created:
            admin.set_password(DEMO_PASSWORD)
            admin.save()
        for username, full_name, team_slug, role in DEMO_USERS:
            first, last = full_name.split(" ", 1)
            user, created = users.get_or_create(username=username, defaults={
                "first_name": first, "last_name": last, "email": f"{username}@example.com"})
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            team = Team.objects.get(slug=team_slug)
            Membership.objects.get_or_create(user=user, team=team, defaults={"role": role})
        if not Release.objects.exists():
            manager = users.get(username="manager")
            release = release_create(
                template_version=result.version, service="todo-app", version="2.4.0", environment="production",
                target_date=timezone.localdate() + datetime.timedelta(days=14), release_manager=manager, by=manager,
            )
            self.stdout.write(f"Demo release {release} created.")
            self._probe_own_manifests(release, manager)
        self.stdout.write(f"Template {result.version}: {result.items} items. Demo users ready.")

    def _probe_own_manifests(self, release, manager):
        """Judge Readiness's own Kubernetes manifests, so the demo shows probe results from the start."""
        from probes import bundles, services

        if not OWN_MANIFESTS.is_dir():  # the container image does not ship docker/
            return
        run = services.run_create(release=release, bundle=bundles.read_paths([OWN_MANIFESTS]),
                                  bundle_name="docker/k8s (Readiness's own manifests)", by=manager, queue=False)
        execution = services.run_execute(run_id=run.pk)
        self.stdout.write(f"Demo probe run: {execution.run.message or execution.run.state}.")

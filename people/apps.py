from django.apps import AppConfig
from django.core import checks


class PeopleConfig(AppConfig):
    name = "people"
    verbose_name = "People"

    def ready(self):
        checks.register(check_group_map)


def check_group_map(app_configs=None, **kwargs):
    """READINESS_OIDC_GROUP_MAP names roles that exist (team slugs are checked at login: teams are data)."""
    from django.conf import settings

    from checklists.models import Role

    return [checks.Error(f"READINESS_OIDC_GROUP_MAP: {group}={team}:{role} names no role; use one of "
                         f"{', '.join(Role.values)}.", id="people.E001")
            for group, team, role in settings.READINESS_OIDC_GROUP_MAP if role not in Role.values]

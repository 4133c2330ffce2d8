import factory
from django.contrib.auth import get_user_model

from checklists.models import Membership, Role, Team
from checklists.seed import load_default_template
from checklists.services.releases import release_create


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw-for-tests")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ["slug"]

    slug = factory.Sequence(lambda n: f"team-{n}")
    name = factory.LazyAttribute(lambda t: t.slug.replace("-", " ").title())


def member(username: str, team: Team, role: str = Role.ENGINEER):
    user = UserFactory(username=username)
    Membership.objects.get_or_create(user=user, team=team, defaults={"role": role})
    return user


def seed_release(*, service="todo-app", version="1.0.0", manager=None, **kwargs):
    """A release of the built-in 211-item template."""
    template_version = load_default_template().version
    return release_create(template_version=template_version, service=service, version=version,
                          release_manager=manager, by=manager, **kwargs)

"""The demo cast that `seed_demo` creates and `make run` prints: no Django imports, so the local stack
can name every login before Django starts."""
DEMO_PASSWORD = "readiness-demo"
# username, full name, team slug, role (checklists.models.Role values)
DEMO_USERS = [
    ("manager", "Maya Manager", "release", "release_manager"),
    ("alice", "Alice Platform", "platform", "engineer"),
    ("bob", "Bob Backend", "backend", "engineer"),
    ("olga", "Olga Observability", "observability", "engineer"),
    ("sam", "Sam Security", "security", "approver"),
    ("pat", "Pat Platform-Lead", "platform", "approver"),
    ("paula", "Paula Product", "release", "approver"),
    ("audrey", "Audrey Auditor", "release", "auditor"),
]
ROLE_WORDS = {"release_manager": "release manager", "engineer": "engineer", "approver": "approver",
              "auditor": "auditor"}


def banner_lines() -> list[str]:
    """Every demo login, one line per role."""
    by_role: dict[str, list[str]] = {}
    for username, _name, team, role in DEMO_USERS:
        by_role.setdefault(role, []).append(f"{username} ({team})")
    lines = [f"demo logins, all with the password {DEMO_PASSWORD}:"]
    lines += [f"  {ROLE_WORDS[role]}: {', '.join(names)}" for role, names in by_role.items()]
    lines.append("  admin: admin (everything)")
    return lines

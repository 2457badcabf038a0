"""A dashboard login's role: what it may do on the sites it is granted.

`admin` (every login made before roles existed, and the default) reads its sites and changes
them: settings, goals, shields, email reports, funnels, shared links, API tokens and secret keys.
`viewer` reads everything an admin reads and changes nothing; it may still sign out and manage
its own two-factor sign-in. The role is read with the session on every request, so a change
applies to a login's open sessions from their next request. This module only names the roles;
`web/access.py` and `web/dashboard/viewer.py` enforce them.
"""

from __future__ import annotations

ADMIN = "admin"
VIEWER = "viewer"
ROLES = (ADMIN, VIEWER)


class UnknownRole(ValueError):
    """A role that is not one of `ROLES`."""


def check_role(role: str) -> str:
    """`role`, normalized; raises UnknownRole."""
    value = role.strip().lower()
    if value not in ROLES:
        raise UnknownRole(f"not a role: {role!r} (one of {', '.join(ROLES)})")
    return value

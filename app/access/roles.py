"""Roles and what each may do: the one table every permission check reads. No Qt here.

A control a role may not use is not offered in the window, and the same request on the
command line is refused (app/access/person.py); both ask `may(role, permission)` of this table, so
the two can never disagree.

The table, and why it is drawn this way (least privilege, the police norm: a person holds
only what their job needs, so a mistake or a misused account reaches as little as it can):

| role       | permissions                                                             |
|------------|-------------------------------------------------------------------------|
| operator   | INVITE_CALLERS, WATCH_FEEDS, TAG                                        |
| supervisor | the operator's, and OPEN_BODYCAMS, MANAGE_LAYOUTS                       |
| forensic   | REVIEW, EXPORT, LOCK                                                    |
| admin      | MANAGE_USERS, EDIT_CONFIG                                               |

- Forensic staff do not watch live feeds: their work is the recorded, tagged clip, and a
  caller's live picture is shown only to those handling the call. They review, export and
  put clips under lock.
- Operators and supervisors tag but do not review, export or lock: whoever made a tag is
  not the one who prepares it for court (separation of duties).
- An admin manages accounts and the config and nothing else: the person who can create
  accounts must not also be able to open body cams or export evidence. An admin who gives
  themselves another role does it through `vigil users add`, which the custody log records
  with their name.
- Setup mode (no admin account yet, app/access/person.py) is the one exception: everything is
  allowed there, since nobody could otherwise make the first admin.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    FORENSIC = "forensic"
    ADMIN = "admin"


class Permission(enum.StrEnum):
    INVITE_CALLERS = "invite_callers"
    """Create, list and revoke caller and officer links (`vigil link`)."""
    WATCH_FEEDS = "watch_feeds"
    """See the live wall: callers, officers, drones and cameras (body cams: OPEN_BODYCAMS)."""
    OPEN_BODYCAMS = "open_bodycams"
    """Open a body-worn camera's stream, for a stated reason."""
    TAG = "tag"
    """Tag a moment as evidence (the wall's T key, `vigil evidence tag`)."""
    MANAGE_LAYOUTS = "manage_layouts"
    """Change the wall's layout and its presets."""
    REVIEW = "review"
    """Find and play back tagged clips (the Review window, `vigil evidence list`,
    `vigil audit verify`)."""
    EXPORT = "export"
    """Write a clip's signed evidence bundle (`vigil evidence export`)."""
    LOCK = "lock"
    """Put a clip under evidence lock (`vigil evidence lock`)."""
    MANAGE_USERS = "manage_users"
    """Add, list and disable accounts (`vigil users`)."""
    EDIT_CONFIG = "edit_config"
    """Change the instance's configuration."""

    @property
    def text(self) -> str:
        """The permission as people say it, for refusals: "export evidence"."""
        return _TEXT[self]


_TEXT = {
    Permission.INVITE_CALLERS: "invite callers",
    Permission.WATCH_FEEDS: "watch live feeds",
    Permission.OPEN_BODYCAMS: "open body cams",
    Permission.TAG: "tag evidence",
    Permission.MANAGE_LAYOUTS: "manage layouts and presets",
    Permission.REVIEW: "review evidence",
    Permission.EXPORT: "export evidence",
    Permission.LOCK: "lock evidence",
    Permission.MANAGE_USERS: "manage users",
    Permission.EDIT_CONFIG: "edit the config",
}

_OPERATOR = frozenset({Permission.INVITE_CALLERS, Permission.WATCH_FEEDS, Permission.TAG})

PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OPERATOR: _OPERATOR,
    Role.SUPERVISOR: _OPERATOR | {Permission.OPEN_BODYCAMS, Permission.MANAGE_LAYOUTS},
    Role.FORENSIC: frozenset({Permission.REVIEW, Permission.EXPORT, Permission.LOCK}),
    Role.ADMIN: frozenset({Permission.MANAGE_USERS, Permission.EDIT_CONFIG}),
}
"""Role → what it may do (the module docstring says why)."""

EVERYTHING = frozenset(Permission)
"""Setup mode's permissions."""


def may(role: Role | None, permission: Permission) -> bool:
    """Whether `role` holds `permission`; no role holds nothing."""
    return role is not None and permission in PERMISSIONS[role]


def roles_with(permission: Permission) -> list[Role]:
    """The roles that hold `permission`, for a refusal that says who could."""
    return [role for role in Role if permission in PERMISSIONS[role]]

"""Who may use the chair's log, per partnership, from the workspace roles (issue 6).

A child protection conference chair records conferences and reads their partnership's log; the
business unit and admins read it; exporting it needs the workspace's "export" permission, or to be a
chair who records it (the chair's own export). Only
partnerships whose policy has a conference escalation form have a log. Every view is also wrapped
in the workspace's `requires`, so the route walk of tests/workspace/test_security_routes.py sees its check.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import abort
from flask_login import current_user

from service.conference import log
from service.workspace import auth

ROLES = log.ROLES


def partnerships(action: str) -> list[str]:
    """The partnerships whose log the signed-in user may use for `action` (record, read or export)."""
    with_log = log.conference_partnerships()
    allowed = set(auth.allowed_partnerships("export")) if action == "export" else set()
    for partnership, role in current_user.roles:
        if role in ROLES["record" if action == "export" else action]:
            allowed.update(with_log if partnership is None else [partnership])
    return [p for p in with_log if p in allowed]


def requires_log(action: str) -> Callable:
    """Signed in (the workspace's check), and allowed `action` on at least one partnership's log."""
    if action not in (*ROLES, "export"):
        raise KeyError(action)

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def checked(*args, **kwargs):
            if not partnerships(action):
                abort(403)
            return view(*args, **kwargs)

        return auth.requires("cases.read")(checked)

    return decorate

"""Helpers every workspace view shares: the registry, today's date, and scoped case look-ups."""

from __future__ import annotations

import datetime as dt

from flask import abort, current_app, request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from forms.model import Registry
from service import db
from service.casework import audit, workdays
from service.casework.models import Case, Submission
from service.workspace.auth import case_reach, remote_addr

REFRESH_SECONDS = 3


def refresh(waiting: bool) -> dict:
    """How a page that watches items being read refreshes itself (no JavaScript): every few seconds
    while any waits, unless the person turned it off (?refresh=off), since a page that reloads on its
    own with no way to stop it fails WCAG 2.2.1 (technique F41)."""
    stopped = request.args.get("refresh") == "off"
    return {
        "seconds": REFRESH_SECONDS if waiting and not stopped else None,
        "stopped": waiting and stopped,
        "stop_url": request.path + "?refresh=off",
        "start_url": request.path,
    }


def registry() -> Registry:
    return current_app.extensions["registry"]


def today() -> dt.date:
    return workdays.today()


# The case page loads the submissions without their originals (sizes come from the database):
# a case's files can reach tens of megabytes each, and the page shows only a link and a size.
WITHOUT_ORIGINALS = selectinload(Case.submissions).defer(Submission.raw)


def scoped_case(reference: str, permission: str = "cases.read", *options) -> Case:
    """The case with this reference if the user holds `permission` in its partnership; else 404.

    Another partnership's case is answered exactly like a missing one, so references cannot be
    probed."""
    reference = (reference or "").strip().upper()[:20]
    found = db.session().scalar(
        select(Case).where(Case.reference == reference, case_reach(permission).condition()).options(*options)
    )
    if found is None:
        abort(404)
    return found


def scoped_case_by_id(case_id: int, permission: str = "cases.read") -> Case:
    found = db.session().scalar(select(Case).where(Case.id == case_id, case_reach(permission).condition()))
    if found is None:
        abort(404)
    return found


def scoped_submission(reference: str, submission_id: int, permission: str = "cases.read") -> tuple[Case, Submission]:
    case = scoped_case(reference, permission)
    submission = db.session().scalar(
        select(Submission).where(Submission.id == submission_id, Submission.case_id == case.id)
    )
    if submission is None:
        abort(404)
    return case, submission


def case_viewed_here(case: Case, detail: str) -> bool:
    """Audit the signed-in user's reading of a case that holds a child's details (audit.case_viewed)."""
    return audit.case_viewed(db.session(), case, current_user.email, detail=detail, remote_addr=remote_addr())


def audit_here(action: str, case: Case | None = None, detail: str | None = None, partnership: str | None = None):
    """Write an audit entry for the signed-in user (committed with the request's work)."""
    return audit.record(
        db.session(),
        current_user.email,
        action,
        partnership=case.partnership if case is not None else partnership,
        case_reference=case.reference if case is not None else None,
        detail=detail,
        remote_addr=remote_addr(),
    )

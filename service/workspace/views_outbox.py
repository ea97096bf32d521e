"""Notifications that could not be sent: listed for the business unit and the admin, with the
reason each stopped, and sent again once the cause is fixed (service.casework.outbox)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm

from service import db
from service.casework import outbox
from service.casework.models import Case, OutboxMessage
from service.workspace import bp
from service.workspace.auth import allowed_partnerships, requires
from service.workspace.common import audit_here


@bp.route("/undelivered")
@requires("cases.write")
def undelivered():
    session = db.session()
    rows = outbox.dead_letters(session, allowed_partnerships("cases.write"))
    cases = {c.id: c for c in session.query(Case).filter(Case.id.in_({r.case_id for r in rows}))} if rows else {}
    items = [{"row": r, "case": cases.get(r.case_id)} for r in rows]
    return render_template("workspace/undelivered.html", items=items, title="Undelivered notifications")


@bp.route("/undelivered/<int:message_id>/retry", methods=["POST"])
@requires("cases.write")
def retry_undelivered(message_id: int):
    if not FlaskForm().validate_on_submit():
        abort(400)
    session = db.session()
    row = session.get(OutboxMessage, message_id)
    case = session.get(Case, row.case_id) if row is not None else None
    if case is None or case.partnership not in allowed_partnerships("cases.write"):
        abort(404)
    if outbox.retry(session, message_id):
        audit_here("outbox.retry", case, detail=f"to {row.role or row.to_name}")
        session.commit()
        flash("The notification will be sent again in the next delivery round.", "success")
    return redirect(url_for("workspace.undelivered"))

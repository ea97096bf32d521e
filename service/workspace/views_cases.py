"""The case page: timeline, submissions with their original files, routing and delivery, notes,
outcome and learning, and closing a case with its de-brief.

Closing records the de-brief and the learning the policies ask for: Kirklees step 7 (restorative
debrief and amendments to local protocols), the SSCP's de-brief once a dispute is resolved, and
Merton §3.15–3.16 (concerns arising referred for learning; individuals debrief).
"""

from __future__ import annotations

import datetime as dt
import io
import re

from flask import abort, flash, redirect, render_template, send_file, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, TextAreaField
from wtforms.validators import DataRequired, Length

from forms.taxonomy import CATEGORIES
from service import db
from service.casework import audit, cases, closing
from service.casework.models import CaseNote
from service.documents import records as documents
from service.intake.models import ReceivedItem
from service.workspace import bp, case_record
from service.workspace.auth import remote_addr, requires
from service.workspace.common import (
    WITHOUT_ORIGINALS,
    audit_here,
    case_viewed_here,
    registry,
    scoped_case,
    scoped_case_by_id,
    scoped_submission,
)
from service.workspace.views_stage import MoveForm, next_stage

MAX_TEXT = 20_000

# Originals are only ever sent as attachments, with a type from this list (never the type the
# sender claimed), so a file cannot run as a page in the workspace's origin.
SAFE_TYPES = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".doc": "application/msword",
    ".pdf": "application/pdf",
    ".eml": "message/rfc822",
    ".msg": "application/vnd.ms-outlook",
    ".json": "application/json",
    ".txt": "text/plain",
    ".csv": "text/csv",
}
FALLBACK_TYPE = "application/octet-stream"


class NoteForm(FlaskForm):
    text = TextAreaField("Note", validators=[DataRequired("Enter the note"), Length(max=MAX_TEXT)])


class OutcomeForm(FlaskForm):
    outcome = TextAreaField("Outcome", validators=[Length(max=MAX_TEXT)])
    resolution = TextAreaField("Resolution agreed", validators=[Length(max=MAX_TEXT)])
    learning = TextAreaField("Learning", validators=[Length(max=MAX_TEXT)])


class CloseForm(FlaskForm):
    resolution = TextAreaField(
        "How the disagreement was resolved",
        validators=[DataRequired("Enter how it was resolved"), Length(max=MAX_TEXT)],
    )
    debrief = TextAreaField(
        "De-brief",
        validators=[DataRequired("Enter what the de-brief found, or why none was held"), Length(max=MAX_TEXT)],
    )
    learning = TextAreaField(
        "Learning and any changes to local protocols",
        validators=[DataRequired("Enter the learning, or 'none identified'"), Length(max=MAX_TEXT)],
    )
    confirm = BooleanField(
        "I have recorded the de-brief and learning", validators=[DataRequired("Confirm before closing")]
    )


def safe_download_name(submission, reference: str) -> tuple[str, str]:
    """A file name of plain characters and the content type its extension allows; the photos of one
    form's pages kept together (parsers.photoset) as the zip they are."""
    from parsers import photoset

    if photoset.is_set(submission.content_type, submission.filename):
        return f"{reference}-photos.zip", photoset.CONTENT_TYPE
    name = submission.filename or f"{reference}-submission-{submission.id}"
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip("._") or "original"
    extension = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    return name[:120], SAFE_TYPES.get(extension, FALLBACK_TYPE)


def _page(case, *, note_form=None, outcome_form=None, close_form=None, move_form=None, errors=None, status=200):
    session = db.session()
    view = cases.case_view(session, case, files=False)
    pack = registry().pack(case.partnership)
    notes = list(
        session.scalars(select(CaseNote).where(CaseNote.case_id == case.id).order_by(CaseNote.at, CaseNote.id))
    )
    # Each e-mail beside its sender check (issue 14); replies held for review show with their reason.
    received = list(session.scalars(select(ReceivedItem).where(ReceivedItem.case_reference == case.reference)))
    emails = {i.submission_id: i for i in received if i.submission_id and i.sender}
    submissions = [{**s, "email": emails.get(s["id"])} for s in case_record.submissions(case)]
    held = [i for i in received if i.status == "held"]
    case_viewed_here(case, "case page")
    session.commit()
    return render_template(
        "workspace/case.html",
        title=case.reference,
        case=view,
        pack=None,
        partnership=pack,
        category=CATEGORIES.get(case.category or "", case.category),
        submissions=submissions,
        conference_rows=case_record.conference_rows(case),
        # The response time as the pack gives it: the policy's words, then the service's labelled reading.
        conference_response=pack.conference_follow_up.describe(pack.short_name) if pack.conference_follow_up else None,
        held=held,
        notes=notes,
        history=audit.for_case(session, case.reference, limit=50),
        note_form=note_form or NoteForm(formdata=None),
        outcome_form=outcome_form or OutcomeForm(formdata=None, data=view, prefix="outcome"),
        close_form=close_form or CloseForm(formdata=None, prefix="close"),
        move_form=move_form or MoveForm(formdata=None, prefix="move"),
        next_stage=next_stage(pack, case),
        moves=case_record.moves(case),
        errors=errors or [],
    ), status


def _errors(form) -> list[dict]:
    return [
        {"text": message if name != "csrf_token" else "The form expired: try again", "href": f"#{form[name].id}"}
        for name, messages in form.errors.items()
        for message in messages
    ]


@bp.route("/cases/<reference>")
@requires("cases.read")
def case_page(reference: str):
    return _page(scoped_case(reference, "cases.read", WITHOUT_ORIGINALS))


@bp.route("/cases/by-id/<int:case_id>")
@requires("cases.read")
def case_by_id(case_id: int):
    return redirect(url_for("workspace.case_page", reference=scoped_case_by_id(case_id).reference))


@bp.route("/cases/<reference>/submissions/<int:submission_id>/original")
@requires("cases.read")
def original(reference: str, submission_id: int):
    case, submission = scoped_submission(reference, submission_id)
    if submission.raw is None:
        abort(404)
    name, content_type = safe_download_name(submission, case.reference)
    audit_here("submission.download", case, detail=f"submission {submission.id}: {name}")
    db.session().commit()
    return download(submission.raw, name, content_type)


@bp.route("/cases/<reference>/submissions/<int:submission_id>/record.<fmt>")
@requires("cases.read")
def record(reference: str, submission_id: int, fmt: str):
    """The completed record made from the submission's answers, as the raiser would download it."""
    case, submission = scoped_submission(reference, submission_id)
    spec = registry().forms.get(submission.form_id)
    if fmt not in documents.FORMATS or spec is None:
        abort(404)
    content = documents.render(spec, submission.data, fmt)
    name = documents.filename(spec, fmt, completed=True, reference=case.reference)
    audit_here("submission.download", case, detail=f"submission {submission.id}: completed {fmt.upper()}")
    db.session().commit()
    return download(content, name, documents.FORMATS[fmt])


def download(content: bytes, name: str, content_type: str):
    """Original bytes as an attachment only: never shown inline, never sniffed, sandboxed if opened."""
    response = send_file(io.BytesIO(content), mimetype=content_type, as_attachment=True, download_name=name, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/cases/<reference>/notes", methods=["POST"])
@requires("cases.note")
def add_note(reference: str):
    case = scoped_case(reference, "cases.note", WITHOUT_ORIGINALS)
    form = NoteForm()
    if not form.validate_on_submit():
        return _page(case, note_form=form, errors=_errors(form), status=400)
    db.session().add(
        CaseNote(case_id=case.id, kind="note", author_email=_email(), at=dt.datetime.now(dt.UTC), text=form.text.data)
    )
    audit_here("case.note", case)
    db.session().commit()
    flash("Note added.", "success")
    return redirect(url_for("workspace.case_page", reference=case.reference) + "#notes")


@bp.route("/cases/<reference>/outcome", methods=["POST"])
@requires("cases.write")
def record_outcome(reference: str):
    case = scoped_case(reference, "cases.write", WITHOUT_ORIGINALS)
    form = OutcomeForm(prefix="outcome")
    if not form.validate_on_submit():
        return _page(case, outcome_form=form, errors=_errors(form), status=400)
    audit_here("case.outcome", case)
    cases.record_outcome(
        db.session(), case, outcome=form.outcome.data, resolution=form.resolution.data, learning=form.learning.data
    )
    flash("Outcome and learning saved.", "success")
    return redirect(url_for("workspace.case_page", reference=case.reference) + "#outcome")


@bp.route("/cases/<reference>/close", methods=["POST"])
@requires("cases.write")
def close_case(reference: str):
    case = scoped_case(reference, "cases.write", WITHOUT_ORIGINALS)
    form = CloseForm(prefix="close")
    if case.status != "open":
        return _page(
            case,
            close_form=form,
            errors=[{"text": f"{case.reference} is already closed", "href": "#close"}],
            status=409,
        )
    if not form.validate_on_submit():
        return _page(case, close_form=form, errors=_errors(form), status=400)
    try:
        closing.close(
            db.session(),
            case,
            resolution=form.resolution.data,
            debrief=form.debrief.data,
            learning=form.learning.data,
            actor=current_user.email,
            remote_addr=remote_addr(),
        )
    except cases.CaseError as exc:  # the policy needs a record first (Merton §3.13): nothing was stored
        case = scoped_case(reference, "cases.write", WITHOUT_ORIGINALS)
        return _page(case, close_form=form, errors=[{"text": str(exc), "href": "#close"}], status=409)
    flash(f"{case.reference} is closed; the de-brief and learning are recorded.", "success")
    return redirect(url_for("workspace.case_page", reference=case.reference))


def _email() -> str:
    return current_user.email

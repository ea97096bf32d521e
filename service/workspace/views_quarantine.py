"""The quarantine queue: inputs the ingestion pipeline (service.intake.ingest, issue 5) could not apply,
with the reason, for a person to fix (choose the form, or correct the answers) and run again, or to
release a reply held because its sender is not a party to the case."""

from __future__ import annotations

import json

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from service import db
from service.intake import jobs, review
from service.intake.models import ReceivedItem
from service.workspace import bp
from service.workspace.auth import all_partnerships, allowed_partnerships, requires
from service.workspace.common import audit_here, registry
from service.workspace.views_cases import safe_download_name

MAX_ANSWERS = 200_000


class RerunForm(FlaskForm):
    form_id = SelectField("Read it as", validate_choice=False)
    case = StringField("Add it to case (reference, optional)", validators=[Optional(), Length(max=20)])
    answers = TextAreaField("Corrected answers (JSON, optional)", validators=[Optional(), Length(max=MAX_ANSWERS)])


class ReleaseForm(FlaskForm):
    pass


def _sees_unattributed() -> bool:
    """An input no partnership could be read from may be about any partnership's child: only someone
    who reviews for every partnership the service holds (a service admin, or a one-partnership
    service's reviewers) sees it, and assigns it by choosing the form."""
    return set(allowed_partnerships("quarantine")) >= set(all_partnerships())


def _item(item_id: int) -> ReceivedItem:
    item = db.session().get(ReceivedItem, item_id)
    allowed = allowed_partnerships("quarantine")
    if item is None or (item.partnership not in allowed if item.partnership else not _sees_unattributed()):
        abort(404)
    return item


def _form_choices(partnerships: list[str]) -> list[tuple[str, str]]:
    forms = [f for f in registry().forms.values() if f.partnership in partnerships]
    return [("", "The form it was recognised as")] + [(f.id, f"{f.partnership}: {f.short_title}") for f in forms]


@bp.route("/quarantine")
@requires("quarantine")
def quarantine():
    items = review.for_review(db.session(), allowed_partnerships("quarantine"), unattributed=_sees_unattributed())
    return render_template("workspace/quarantine.html", title="Quarantine", items=items, errors=[])


def _detail(item: ReceivedItem, form: RerunForm | None = None, errors=None, status: int = 200):
    form = form or RerunForm(formdata=None, prefix="rerun")
    form.form_id.choices = _form_choices(allowed_partnerships("quarantine"))
    parsed = item.parsed or {}
    answers = _answers(item)
    if form.answers.data is None and answers:
        form.answers.data = json.dumps(answers, indent=2, ensure_ascii=False)
    audit_here("quarantine.view", partnership=item.partnership, detail=f"received item {item.id}")
    db.session().commit()
    return render_template(
        "workspace/quarantine_item.html",
        refresh=3 if item.status in ("received", "reading") else None,
        title=f"Received item {item.id}",
        item=item,
        parsed=parsed,
        form=form,
        release_form=ReleaseForm(formdata=None),
        errors=errors or [],
    ), status


@bp.route("/quarantine/<int:item_id>")
@requires("quarantine")
def quarantine_item(item_id: int):
    return _detail(_item(item_id))


@bp.route("/quarantine/<int:item_id>/original")
@requires("quarantine")
def quarantine_original(item_id: int):
    from service.workspace.views_cases import download

    item = _item(item_id)
    name, content_type = safe_download_name(item, f"received-{item.id}")
    audit_here("submission.download", partnership=item.partnership, detail=f"received item {item.id}: {name}")
    db.session().commit()
    return download(item.raw, name, content_type)


@bp.route("/quarantine/<int:item_id>/rerun", methods=["POST"])
@requires("quarantine")
def quarantine_rerun(item_id: int):
    item = _item(item_id)
    form = RerunForm(prefix="rerun")
    form.form_id.choices = _form_choices(allowed_partnerships("quarantine"))
    if not form.validate_on_submit():
        return _detail(item, form, [{"text": "The form expired: try again", "href": "#rerun-form_id"}], 400)
    form_id = form.form_id.data or None
    if form_id is not None and (
        form_id not in registry().forms
        or registry().form(form_id).partnership not in allowed_partnerships("quarantine")
    ):
        return _detail(item, form, [{"text": "Choose one of your partnerships' forms", "href": "#rerun-form_id"}], 400)
    data = None
    if form.answers.data and form.answers.data.strip():
        try:
            data = json.loads(form.answers.data)
        except json.JSONDecodeError as exc:
            error = f"The corrected answers are not JSON: {exc.msg} at line {exc.lineno}"
            return _detail(item, form, [{"text": error, "href": "#rerun-answers"}], 400)
        if not isinstance(data, dict):
            return _detail(
                item, form, [{"text": "The corrected answers must be a JSON object", "href": "#rerun-answers"}], 400
            )
    case = (form.case.data or "").strip().upper() or None
    if case is not None and _case_partnership(case) not in allowed_partnerships("quarantine"):
        return _detail(item, form, [{"text": f"No case {case} in your partnerships", "href": "#rerun-case"}], 400)
    try:
        review.request_rerun(db.session(), item.id, actor=current_user.email, form_id=form_id, data=data, case=case)
    except (ValueError, LookupError) as exc:
        db.session().rollback()
        return _detail(_item(item_id), form, [{"text": str(exc), "href": "#rerun-form_id"}], 400)
    audit_here("quarantine.fix", partnership=item.partnership, detail=f"received item {item.id}: run again")
    db.session().commit()
    return _after_run(item.id, "Run again")


def _after_run(item_id: int, done: str):
    """Queue the item's reading; then its case when it was read at once, else its page (refreshing)."""
    jobs.enqueue(current_app._get_current_object(), [item_id])  # the queue down: the sweep queues it
    db.session().expire_all()
    item = db.session().get(ReceivedItem, item_id)
    if item.status == "accepted":
        flash(f"{done}: applied to {item.case_reference}.", "success")
        return redirect(url_for("workspace.case_page", reference=item.case_reference))
    if item.status in ("received", "reading"):
        flash(f"{done}: it is being read; this page shows the outcome when it is done.", "info")
    else:
        flash(f"{done}: {item.status}. {item.reason or ''}".strip(), "info")
    return redirect(url_for("workspace.quarantine_item", item_id=item_id))


@bp.route("/quarantine/<int:item_id>/release", methods=["POST"])
@requires("quarantine")
def quarantine_release(item_id: int):
    item = _item(item_id)
    if not ReleaseForm().validate_on_submit():
        return _detail(item, errors=[{"text": "The form expired: try again", "href": "#release"}], status=400)
    try:
        review.request_release(db.session(), item.id, actor=current_user.email)
    except ValueError as exc:
        db.session().rollback()
        return _detail(_item(item_id), errors=[{"text": str(exc), "href": "#release"}], status=400)
    audit_here("quarantine.fix", partnership=item.partnership, detail=f"released item {item.id}")
    db.session().commit()
    return _after_run(item.id, "Released")


def _answers(item: ReceivedItem) -> dict:
    """The answers as read: canonical data when the form was recognised, else the raw field values."""
    parsed = item.parsed or {}
    return parsed.get("data") or {k: v.get("value") for k, v in parsed.get("fields", {}).items()}


def _case_partnership(reference: str) -> str | None:
    from service.casework.models import Case

    return db.session().scalar(select(Case.partnership).where(Case.reference == reference))

"""The quarantine queue: inputs the ingestion pipeline (service.intake.ingest, issue 5) could not apply,
with the reason, for a person to fix and run again, or to release a reply held because its sender is
not a party to the case.

An input opens as the form itself (correction.py: the same questions as the public pages, filled
with what was read, each marked read, changed or missing) beside a preview of the original
(preview.py); choosing another form reads the original again as that form."""

from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional

from parsers import photoset
from service import db
from service.casework.wording import received_file
from service.intake import jobs, review
from service.intake.models import ReceivedItem
from service.web import formbuild
from service.workspace import bp, correction, preview
from service.workspace.auth import all_partnerships, allowed_partnerships, requires
from service.workspace.common import audit_here, refresh, registry
from service.workspace.views_cases import safe_download_name


class RerunForm(FlaskForm):
    form_id = SelectField("Read it as", validate_choice=False)
    case = StringField("Add it to case (reference, optional)", validators=[Optional(), Length(max=20)])


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
    return [("", "Choose the form")] + [
        (f.id, f"{registry().pack(f.partnership).short_name}: {f.short_title}") for f in forms
    ]


def _chosen_spec(item: ReceivedItem, form_id: str | None):
    """The form to correct it as: the one chosen (if it is one of the user's), else the one recognised."""
    allowed = allowed_partnerships("quarantine")
    for candidate in (form_id, item.form_id):
        spec = registry().forms.get(candidate or "")
        if spec is not None and spec.partnership in allowed:
            return spec
    return None


@bp.route("/quarantine")
@requires("quarantine")
def quarantine():
    items = review.for_review(db.session(), allowed_partnerships("quarantine"), unattributed=_sees_unattributed())
    return render_template("workspace/quarantine.html", title="Quarantine", items=items, errors=[])


def _detail(
    item: ReceivedItem, form: RerunForm | None = None, errors=None, status: int = 200, *, spec=None, posted=None
):
    form = form or RerunForm(formdata=None, prefix="rerun")
    form.form_id.choices = _form_choices(allowed_partnerships("quarantine"))
    # Still being read: the page shows its state and looks again every 3 s, so nothing is read,
    # rendered or audited for what it does not show.
    being_read = item.status in ("received", "reading")
    spec = None if being_read else spec or _chosen_spec(item, request.args.get("as"))
    reading = correction.read_as(item, spec) if spec is not None and item.raw is not None else None
    fields = questions = None
    if reading is not None:
        form.form_id.data = spec.id
        fields = correction.form_for(reading, posted)
        if posted is not None:
            fields.validate()
        questions = correction.questions(reading, fields, correction.marks(reading, fields))
    if not being_read:
        audit_here("quarantine.view", partnership=item.partnership, detail=f"received item {item.id}")
        db.session().commit()
    return render_template(
        "workspace/quarantine_item.html",
        refresh=refresh(being_read),
        title=received_file(item, heading=True),
        item=item,
        parsed=item.parsed or {},
        form=form,
        spec=spec,
        recognised=registry().forms[item.form_id].short_title if item.form_id in registry().forms else None,
        reading=reading,
        questions=questions,
        preview={"kind": "none"} if being_read else _preview(item),
        photo_set=photoset.is_set(item.content_type, item.filename),
        release_form=ReleaseForm(formdata=None),
        # A held reply goes to its case; an e-mail held for another's Message-ID is read as itself.
        release_label=f"apply it to {item.case_reference}" if item.case_reference else "read it as its own e-mail",
        errors=errors or [],
    ), status


def _preview(item: ReceivedItem) -> dict:
    """What the page shows of the original: page images of a PDF, the text of anything else readable."""
    from parsers import sniff

    if item.raw is None:
        return {"kind": "none"}
    kind = sniff(item.raw, item.filename)
    if kind == "pdf":
        pages = preview.page_count(item.raw)
        return {"kind": "pdf", "pages": range(1, pages + 1)} if pages else {"kind": "none"}
    if kind in ("docx", "email", "msg"):
        text = preview.text_of(item.raw, "docx" if kind == "docx" else "email")
        return {"kind": "text", "text": text} if text else {"kind": "none"}
    if kind == "text":
        return {"kind": "text", "text": item.raw[: preview.MAX_TEXT].decode("utf-8", "replace")}
    return {"kind": "none"}


@bp.route("/quarantine/<int:item_id>/page-<int:number>.png")
@requires("quarantine")
def quarantine_page_image(item_id: int, number: int):
    item = _item(item_id)
    png = preview.page_png(item.raw, number) if item.raw is not None else None
    if png is None:
        abort(404)
    response = Response(png, mimetype="image/png")
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


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
    spec = _chosen_spec(item, form_id)
    if spec is None:
        return _detail(item, form, [{"text": "Choose the form it is", "href": "#rerun-form_id"}], 400)
    case = (form.case.data or "").strip().upper() or None
    if case is not None and _case_partnership(case) not in allowed_partnerships("quarantine"):
        return _detail(
            item, form, [{"text": f"No case {case} in your partnerships", "href": "#rerun-case"}], 400, spec=spec
        )
    reading = correction.read_as(item, spec)
    answers = correction.form_for(reading, request.form)
    if not answers.validate():
        errors = formbuild.error_list(answers)
        return _detail(item, form, errors, 400, spec=spec, posted=request.form)
    try:
        review.request_rerun(
            db.session(),
            item.id,
            actor=current_user.email,
            form_id=spec.id,
            data=correction.corrected_data(reading, answers),
            case=case,
        )
    except (ValueError, LookupError) as exc:
        db.session().rollback()
        return _detail(_item(item_id), form, [{"text": str(exc), "href": "#rerun-form_id"}], 400, spec=spec)
    audit_here("quarantine.fix", partnership=item.partnership, detail=f"received item {item.id}: run again")
    db.session().commit()
    return _after_run(item.id, "Corrected")


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


def _case_partnership(reference: str) -> str | None:
    from service.casework.models import Case

    return db.session().scalar(select(Case.partnership).where(Case.reference == reference))

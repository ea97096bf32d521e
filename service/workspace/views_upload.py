"""The upload page: a business unit uploads returned forms (DOCX, PDF, e-mails, scans and photos), each
stored and queued at once ("received as item N"), then follows the batch as the workers read them: each
file's state and the batch's progress, the page refreshing itself (no JavaScript) while any is unread.
Photos of one form taken page by page, when the box says so, are kept together as one item and read as
that form's pages (parsers.photoset)."""

from __future__ import annotations

import re

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField

from service import db
from service.intake import jobs, uploads
from service.intake.models import UploadBatch
from service.intake.store import MAX_INPUT_BYTES
from service.workspace import bp
from service.workspace.auth import allowed_partnerships, requires
from service.workspace.common import audit_here, refresh, registry

ACCEPT = ".docx,.pdf,.eml,.msg,.jpg,.jpeg,.png,.tif,.tiff,.heic"


class UploadForm(FlaskForm):
    partnership = SelectField("Partnership the forms are from", validate_choice=False)
    pages = BooleanField("These photos are the pages of one form")


def _choices() -> list[tuple[str, str]]:
    packs = [registry().pack(p) for p in allowed_partnerships("cases.write")]
    return (
        [(p.id, p.short_name) for p in packs]
        if len(packs) == 1
        else [("", "Any partnership")] + [(p.id, p.short_name) for p in packs]
    )


def _page(form: UploadForm, errors=None, status: int = 200):
    form.partnership.choices = _choices()
    return render_template(
        "workspace/upload.html", title="Upload returned forms", form=form, errors=errors or [], accept=ACCEPT,
        max_files=uploads.MAX_FILES, max_mb=current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024),
    ), status  # fmt: skip


@bp.route("/upload")
@requires("cases.write")
def upload():
    return _page(UploadForm(formdata=None))


@bp.route("/upload", methods=["POST"])
@requires("cases.write")
def upload_files():
    form = UploadForm()
    form.partnership.choices = _choices()
    if not form.validate_on_submit():
        return _page(form, [{"text": "The form expired: try again", "href": "#files"}], 400)
    partnership = form.partnership.data or None
    if partnership is not None and partnership not in allowed_partnerships("cases.write"):
        return _page(form, [{"text": "Choose one of your partnerships", "href": "#partnership"}], 400)
    if partnership is None and len(allowed_partnerships("cases.write")) == 1:
        partnership = allowed_partnerships("cases.write")[0]
    chosen = [f for f in request.files.getlist("files") if f and f.filename]
    if not chosen:
        return _page(form, [{"text": "Choose the returned forms to upload", "href": "#files"}], 400)
    if len(chosen) > uploads.MAX_FILES:
        error = f"Upload at most {uploads.MAX_FILES} files at a time (you chose {len(chosen)})"
        return _page(form, [{"text": error, "href": "#files"}], 400)
    files = [(uploads.shown_name(f.filename), f.read(MAX_INPUT_BYTES + 1), f.mimetype or None) for f in chosen]
    if form.pages.data and len(files) > 1:
        problem = _not_pages(files)
        if problem:
            return _page(form, [{"text": problem, "href": "#files"}], 400)
        files = [uploads.photos_of_one_form([(name, content) for name, content, _ in sorted(files, key=_page_order)])]
    batch, outcomes = uploads.store_upload(db.session(), files, uploaded_by=current_user.email, partnership=partnership)
    audit_here("intake.upload", partnership=partnership, detail=f"{len(files)} files, items " + ", ".join(
        str(o.item_id) for o in outcomes
    ))  # fmt: skip
    db.session().commit()
    jobs.enqueue(current_app._get_current_object(), [o.item_id for o in outcomes if o.status == "received"])
    return redirect(url_for("workspace.upload_batch", batch_id=batch.id))


def _not_pages(files: list[tuple[str, bytes, str | None]]) -> str | None:
    """Why the files cannot be read as the photos of one form's pages, or None."""
    from parsers import MAX_DOCUMENT_BYTES, sniff
    from parsers.kinds import IMAGES
    from parsers.ocr import MAX_PAGES

    if len(files) > MAX_PAGES:
        return f"Choose at most {MAX_PAGES} photos of one form's pages (you chose {len(files)})"
    large = [name for name, content, _ in files if len(content) > MAX_DOCUMENT_BYTES]
    if large:
        each = "is" if len(large) == 1 else "are each"
        return f"{', '.join(large)} {each} larger than {_mb(MAX_DOCUMENT_BYTES)}: send a smaller photo of the page"
    others = [name for name, content, _ in files if sniff(content, name) not in IMAGES]
    if others:
        return (
            f"{', '.join(others)} {'is not a photo or scan' if len(others) == 1 else 'are not photos or scans'} "
            "(JPEG, PNG, TIFF or HEIC): choose only the photos of one form's pages, or untick the box"
        )
    return None


def _mb(size: int) -> str:
    return f"{size // (1024 * 1024)} MB"


def _page_order(file: tuple) -> list:
    """File names in the order people count them: IMG_2 before IMG_10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", file[0])]


@bp.route("/upload/<batch_id>")
@requires("cases.write")
def upload_batch(batch_id: str):
    batch = db.session().get(UploadBatch, batch_id[:32])
    if batch is None or batch.uploaded_by != current_user.email:
        abort(404)
    states = uploads.batch_states(db.session(), batch)
    progress = uploads.progress(states)
    return render_template(
        "workspace/upload_batch.html",
        title="Returned forms uploaded",
        batch=batch,
        states=states,
        progress=progress,
        refresh=refresh(bool(progress["pending"])),
        errors=[],
    )

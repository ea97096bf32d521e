"""What every page of the web journey shares: the blueprint (CSRF checked on every POST), the form
registry, a partnership's pack, the page template, file downloads and starting a draft."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for

from forms.model import Pack
from service import db
from service.documents import records as documents
from service.ops import settings
from service.web import drafts

# The web journey's own assets (GOV.UK Frontend built by `make assets`, our stylesheet and script).
STATIC = Path(__file__).resolve().parent.parent / "static"
bp = Blueprint("web", __name__, static_folder=str(STATIC), static_url_path="/assets")


@bp.before_request
def _csrf_on_every_post():
    if request.method == "POST":
        from service.web import csrf

        csrf.protect()


def registry():
    return current_app.extensions["registry"]


def served() -> list[Pack]:
    """The partnerships this deployment serves (PARTNERSHIPS); the others' pages do not exist here."""
    ids = settings.partnerships(current_app)
    return [pack for pack in registry().packs if pack.id in ids]


def pack_or_404(pack_id: str) -> Pack:
    if pack_id not in settings.partnerships(current_app):
        abort(404)
    return registry().pack(pack_id)


def render_page(template: str, *, title: str, pack: Pack | None = None, **context) -> str:
    return render_template(
        f"web/{template}",
        title=title,
        pack=pack,
        immediate_risk=pack.immediate_risk if pack else None,
        **context,
    )


def download_response(content: bytes, fmt: str, name: str) -> Response:
    return Response(
        content,
        mimetype=documents.FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def start_draft(pack: Pack, form_id: str, answers: dict, case_id: int | None = None):
    spec = pack.form(form_id)
    token, _draft = drafts.create(db.session(), partnership=pack.id, form_id=spec.id, answers=answers, case_id=case_id)
    return redirect(url_for("web.question", token=token, section_key=spec.sections[0].key))

"""The web journey: partnership -> guidance -> what to do -> questions -> check -> download or submit
-> confirmation -> tracking.

Answers in progress live in a draft (service.web.drafts) behind a private link; a submitted case is
reached only through its tracking link. Neither link can be guessed or used for another case.

This module holds the start of the journey (partnership, guidance, blank forms, what to do) and the
error pages; questions.py the draft's pages (questions, check, download, send), tracking.py the pages
reached by a tracking link. Their views all register on the one blueprint in pages.py (endpoints web.*).
"""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput
from wtforms import SubmitField

from forms import quotes
from service.documents import records as documents
from service.web import (  # noqa: F401 - public, questions, recover, tracking: their views register on bp
    formbuild,
    journey,
    public,
    questions,
    recover,
    security,
    tracking,
)
from service.web.fields import Radios, RadiosWidget, Required, choices_of
from service.web.pages import bp, download_response, pack_or_404, render_page, served, start_draft


class _ChoiceForm(FlaskForm):
    """A single-question page of radios."""


GROUP_TITLES = {
    "Emergency route": "If a child is at immediate risk",
    "Exclusion": "When the procedure does not apply",
    "Stage": "Stages: who acts, what, and by when",
    "Bypass": "Steps the policy lets be bypassed",
    "Closing": "Before a case is closed",
    "Follow-up": "Following up a conference escalation",
    "Notification": "Who is told at each stage",
    "Role": "Roles",
    "Form": "Forms and when they are used",
}


def _choice_form(label: str, items: list[tuple[str, str]], message: str) -> FlaskForm:
    field = Radios(
        label,
        choices=choices_of(items),
        validators=[Required(message)],
        widget=RadiosWidget(),
        invalid_choice_message=message,
    )
    cls = type(
        "ChoiceForm", (_ChoiceForm,), {"choice": field, "submit": SubmitField("Continue", widget=GovSubmitInput())}
    )
    return cls()


# --- start and guidance --------------------------------------------------------------------


@bp.route("/", methods=["GET", "POST"])
def start():
    packs = served()
    if len(packs) == 1:  # one partnership: nothing to choose
        return redirect(url_for("web.guidance", pack_id=packs[0].id))
    form = _choice_form(
        "Which safeguarding children partnership are you working with?",
        [(p.id, p.name) for p in packs],
        "Select the partnership",
    )
    if form.validate_on_submit():
        return redirect(url_for("web.guidance", pack_id=form.choice.data))
    return render_page(
        "start.html",
        title="Escalate a concern about a child's safety",
        form=form,
        errors=formbuild.errors_of(form),
    )


@bp.route("/p/<pack_id>")
def guidance(pack_id: str):
    pack = pack_or_404(pack_id)
    return render_page(
        "guidance.html",
        title=f"How to escalate a concern in {pack.short_name}",
        pack=pack,
        back_url=url_for("web.start"),
    )


@bp.route("/p/<pack_id>/policy")
def policy(pack_id: str):
    """How this service follows the policy: every rule of the pack with its paragraph and quote."""
    pack = pack_or_404(pack_id)
    groups: dict[str, list] = {}
    for rule in quotes.rules(pack):
        groups.setdefault(GROUP_TITLES[rule.kind], []).append(rule)
    return render_page(
        "policy.html",
        title=f"How this service follows the {pack.short_name} policy",
        pack=pack,
        groups=list(groups.items()),
        back_url=url_for("web.guidance", pack_id=pack.id),
    )


@bp.route("/p/<pack_id>/forms/<form_id>.<fmt>")
def blank(pack_id: str, form_id: str, fmt: str):
    pack = pack_or_404(pack_id)
    try:
        spec = pack.form(form_id)
    except KeyError:
        abort(404)
    if fmt not in documents.FORMATS:
        abort(404)
    content = documents.render(spec, None, fmt)
    response = download_response(content, fmt, documents.filename(spec, fmt, completed=False))
    response.headers["Cache-Control"] = "public, max-age=3600"  # a blank form holds no case data
    return response


@bp.route("/p/<pack_id>/start", methods=["GET", "POST"])
def choose(pack_id: str):
    pack = pack_or_404(pack_id)
    options = journey.options(pack)
    form = _choice_form("What do you need to do?", [(o.value, o.text) for o in options], "Select what you need to do")
    if form.validate_on_submit():
        chosen = journey.option(pack, form.choice.data)
        if chosen.value == "outcome":
            return redirect(url_for("web.outcome", pack_id=pack.id))
        return start_draft(pack, chosen.form_id, journey.preset_answers(pack.form(chosen.form_id), chosen.stage))
    return render_page(
        "choose.html",
        title="What do you need to do?",
        pack=pack,
        form=form,
        hint_items=[{"hint": {"text": o.hint}} for o in options],
        errors=formbuild.errors_of(form),
        back_url=url_for("web.guidance", pack_id=pack.id),
    )


@bp.route("/p/<pack_id>/outcome", methods=["GET", "POST"])
def outcome(pack_id: str):
    pack = pack_or_404(pack_id)
    forms = journey.outcome_forms(pack) or pack.forms
    form = _choice_form("Which form do you need?", [(f.id, f.title) for f in forms], "Select the form you need")
    if form.validate_on_submit():
        return start_draft(pack, form.choice.data, {})
    return render_page(
        "outcome.html",
        title="Record the outcome of a stage",
        pack=pack,
        form=form,
        errors=formbuild.errors_of(form),
        back_url=url_for("web.choose", pack_id=pack.id),
    )


def _ours() -> bool:
    """Error pages in GOV.UK style for the web journey only; other blueprints (the JSON API) keep theirs."""
    return request.blueprint in (None, "web") and not request.path.startswith("/api/")


@bp.app_errorhandler(404)
def not_found(exc):
    if not _ours():
        return exc
    return render_page("not_found.html", title="Page not found"), 404


@bp.app_errorhandler(413)
def too_large(exc):
    if not _ours():
        return exc
    return render_page(
        "problem.html", title="What you sent is too large", message="Shorten your answers and try again."
    ), 413


@bp.app_errorhandler(CSRFError)
def csrf_refused(exc):
    security.log_refusal(exc)
    if not _ours():
        return render_page("problem.html", title="Sorry, there is a problem", message=REFUSED), 400
    return bad_request(exc)


REFUSED = "This form could not be accepted from where it was sent. Go back, reload the page and try again."


@bp.app_errorhandler(400)
def bad_request(exc):
    if not _ours():
        return exc
    message = "Your session may have expired, or the page was sent twice. Go back, reload the page and try again."
    return render_page("problem.html", title="Sorry, there is a problem", message=message), 400


def register(app) -> None:
    app.register_blueprint(bp)

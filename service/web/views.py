"""The web journey: partnership -> guidance -> what to do -> questions -> check -> download or submit
-> confirmation -> tracking.

Answers in progress live in a draft (service.web.drafts) behind a private link; a submitted case is
reached only through its tracking link. Neither link can be guessed or used for another case.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput
from marshmallow import ValidationError
from wtforms import SubmitField

from forms.model import FormSpec, Pack, Section
from forms.schema import validate_data
from service import db
from service.casework import cases, routing
from service.casework.models import Case
from service.documents import records as documents
from service.ops import settings
from service.web import child_details, drafts, formbuild, journey, security

# The web journey's own assets (GOV.UK Frontend built by `make assets`, our stylesheet and script).
STATIC = Path(__file__).resolve().parent.parent / "static"
bp = Blueprint("web", __name__, static_folder=str(STATIC), static_url_path="/assets")


@bp.before_request
def _csrf_on_every_post():
    if request.method == "POST":
        from service.web import csrf

        csrf.protect()


# --- helpers -------------------------------------------------------------------------------


def _registry():
    return current_app.extensions["registry"]


def _served() -> list[Pack]:
    """The partnerships this deployment serves (PARTNERSHIPS); the others' pages do not exist here."""
    served = settings.partnerships(current_app)
    return [pack for pack in _registry().packs if pack.id in served]


def _pack(pack_id: str) -> Pack:
    if pack_id not in settings.partnerships(current_app):
        abort(404)
    return _registry().pack(pack_id)


def _page(template: str, *, title: str, pack: Pack | None = None, **context) -> str:
    return render_template(
        f"web/{template}",
        title=title,
        pack=pack,
        immediate_risk=pack.immediate_risk if pack else None,
        **context,
    )


def _draft_or_404(token: str) -> tuple[drafts.Draft, FormSpec, Pack]:
    draft = drafts.find(db.session(), token)
    if draft is None:
        abort(404)
    spec = _registry().form(draft.form_id)
    return draft, spec, _registry().pack(draft.partnership)


def _section(spec: FormSpec, key: str) -> Section:
    for section in spec.sections:
        if section.key == key:
            return section
    abort(404)


def _next_section(spec: FormSpec, key: str) -> Section | None:
    keys = [s.key for s in spec.sections]
    index = keys.index(key)
    return spec.sections[index + 1] if index + 1 < len(keys) else None


def _previous_section(spec: FormSpec, key: str) -> Section | None:
    keys = [s.key for s in spec.sections]
    index = keys.index(key)
    return spec.sections[index - 1] if index > 0 else None


def _first_unfinished(spec: FormSpec, answers: dict) -> Section | None:
    """The first section whose stored answers do not pass its checks."""
    for section in spec.sections:
        if not formbuild.answers_pass(spec, section, answers):
            return section
    return None


def _download(content: bytes, fmt: str, name: str) -> Response:
    return Response(
        content,
        mimetype=documents.FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


class _ChoiceForm(FlaskForm):
    """A single-question page of radios."""


def _choice_form(label: str, items: list[tuple[str, str]], message: str) -> FlaskForm:
    field = formbuild.Radios(
        label,
        choices=formbuild.choices_of(items),
        validators=[formbuild.Required(message)],
        widget=formbuild.RadiosWidget(),
        invalid_choice_message=message,
    )
    cls = type(
        "ChoiceForm", (_ChoiceForm,), {"choice": field, "submit": SubmitField("Continue", widget=GovSubmitInput())}
    )
    return cls()


# --- start and guidance --------------------------------------------------------------------


@bp.route("/", methods=["GET", "POST"])
def start():
    packs = _served()
    if len(packs) == 1:  # one partnership: nothing to choose
        return redirect(url_for("web.guidance", pack_id=packs[0].id))
    form = _choice_form(
        "Which safeguarding children partnership are you working with?",
        [(p.id, p.name) for p in packs],
        "Select the partnership",
    )
    if form.validate_on_submit():
        return redirect(url_for("web.guidance", pack_id=form.choice.data))
    return _page(
        "start.html",
        title="Escalate a concern about a child's safety",
        form=form,
        errors=formbuild.errors_of(form),
    )


@bp.route("/p/<pack_id>")
def guidance(pack_id: str):
    pack = _pack(pack_id)
    return _page(
        "guidance.html",
        title=f"How to escalate a concern in {pack.short_name}",
        pack=pack,
        back_url=url_for("web.start"),
    )


@bp.route("/p/<pack_id>/forms/<form_id>.<fmt>")
def blank(pack_id: str, form_id: str, fmt: str):
    pack = _pack(pack_id)
    try:
        spec = pack.form(form_id)
    except KeyError:
        abort(404)
    if fmt not in documents.FORMATS:
        abort(404)
    content = documents.render(spec, None, fmt)
    response = _download(content, fmt, documents.filename(spec, fmt, completed=False))
    response.headers["Cache-Control"] = "public, max-age=3600"  # a blank form holds no case data
    return response


@bp.route("/p/<pack_id>/start", methods=["GET", "POST"])
def choose(pack_id: str):
    pack = _pack(pack_id)
    options = journey.options(pack)
    form = _choice_form("What do you need to do?", [(o.value, o.text) for o in options], "Select what you need to do")
    if form.validate_on_submit():
        chosen = journey.option(pack, form.choice.data)
        if chosen.value == "outcome":
            return redirect(url_for("web.outcome", pack_id=pack.id))
        return _start_draft(pack, chosen.form_id, journey.preset_answers(pack.form(chosen.form_id), chosen.stage))
    return _page(
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
    pack = _pack(pack_id)
    forms = journey.outcome_forms(pack) or pack.forms
    form = _choice_form("Which form do you need?", [(f.id, f.title) for f in forms], "Select the form you need")
    if form.validate_on_submit():
        return _start_draft(pack, form.choice.data, {})
    return _page(
        "outcome.html",
        title="Record the outcome of a stage",
        pack=pack,
        form=form,
        errors=formbuild.errors_of(form),
        back_url=url_for("web.choose", pack_id=pack.id),
    )


def _start_draft(pack: Pack, form_id: str, answers: dict, case_id: int | None = None):
    spec = pack.form(form_id)
    token, _draft = drafts.create(db.session(), partnership=pack.id, form_id=spec.id, answers=answers, case_id=case_id)
    return redirect(url_for("web.question", token=token, section_key=spec.sections[0].key))


# --- questions -----------------------------------------------------------------------------


@bp.route("/d/<token>")
def resume(token: str):
    draft, spec, _ = _draft_or_404(token)
    # Back to the first page not yet completed (an optional page counts once it has been continued past).
    unvisited = next((sec for sec in spec.sections if sec.key not in draft.done), None)
    unfinished = unvisited or _first_unfinished(spec, draft.answers)
    if unfinished is not None:
        return redirect(url_for("web.question", token=token, section_key=unfinished.key))
    return redirect(url_for("web.check", token=token))


@bp.route("/d/<token>/s/<section_key>", methods=["GET", "POST"])
def question(token: str, section_key: str):
    draft, spec, pack = _draft_or_404(token)
    section = _section(spec, section_key)
    changing = request.args.get("change") == "1"
    if request.method == "GET":
        form = formbuild.make_section_form(spec, section, draft.answers)
        return _question_page(token, draft, spec, pack, section, form, changing)

    form = formbuild.make_section_form(spec, section, draft.answers, formdata=request.form)
    # The blueprint has checked the CSRF token of every POST before this point.
    if request.form.get("add_row") or request.form.get("remove_row"):
        formbuild.change_rows(form, add=request.form.get("add_row"), remove=request.form.get("remove_row"))
        return _question_page(token, draft, spec, pack, section, form, changing)

    answers = {**draft.answers, **formbuild.section_answers(form)}
    if request.form.get("save") == "later":
        drafts.save(db.session(), draft, answers=answers, done=draft.done, for_later=True)
        return redirect(url_for("web.saved", token=token))

    if not form.validate():
        return _question_page(token, draft, spec, pack, section, form, changing)

    warnings = {k: v for k, v in child_details.warnings(spec, answers).items() if k in {f.key for f in section.fields}}
    seen = request.form.get("warned") == formbuild.fingerprint(warnings, answers)
    done = sorted({*draft.done, section.key})
    drafts.save(db.session(), draft, answers=answers, done=done)
    if warnings and not seen:
        return _question_page(token, draft, spec, pack, section, form, changing, warnings=warnings)
    following = _next_section(spec, section.key)
    if changing or following is None:
        return redirect(url_for("web.check", token=token))
    return redirect(url_for("web.question", token=token, section_key=following.key))


def _question_page(token, draft, spec, pack, section, form, changing, warnings=None):
    previous = _previous_section(spec, section.key)
    if changing:
        back = url_for("web.check", token=token)
    elif previous is not None:
        back = url_for("web.question", token=token, section_key=previous.key)
    else:
        back = url_for("web.guidance", pack_id=pack.id)
    number = [s.key for s in spec.sections].index(section.key) + 1
    questions = [formbuild.render_question(form[f.key], f) for f in section.fields]
    answers = draft.answers
    return _page(
        "question.html",
        title=section.title,
        pack=pack,
        spec=spec,
        section=section,
        form=form,
        questions=questions,
        caption=f"{spec.short_title}: part {number} of {len(spec.sections)}",
        errors=formbuild.error_list(form),
        warnings=warnings or {},
        warned=formbuild.fingerprint(warnings or {}, answers) if warnings else "",
        action=url_for("web.question", token=token, section_key=section.key, change="1" if changing else None),
        back_url=back,
        no_child_details=not spec.carries_child_details,
    )


@bp.route("/d/<token>/saved")
def saved(token: str):
    draft, spec, pack = _draft_or_404(token)
    return _page(
        "saved.html",
        title="Your answers have been saved",
        pack=pack,
        spec=spec,
        link=url_for("web.resume", token=token, _external=True),
        expires=draft.expires_at,
    )


@bp.route("/d/<token>/check")
def check(token: str):
    draft, spec, pack = _draft_or_404(token)
    unfinished = _first_unfinished(spec, draft.answers)
    if unfinished is not None:
        return redirect(url_for("web.question", token=token, section_key=unfinished.key))
    return _page(
        "check.html",
        title="Check your answers before sending",
        pack=pack,
        spec=spec,
        summary=formbuild.summary(
            spec, draft.answers, lambda key: url_for("web.question", token=token, section_key=key, change="1")
        ),
        warnings=child_details.warnings(spec, draft.answers),
        token=token,
        updating=draft.case_id is not None,
        back_url=url_for("web.question", token=token, section_key=spec.sections[-1].key),
    )


@bp.route("/d/<token>/download.<fmt>")
def download(token: str, fmt: str):
    draft, spec, _ = _draft_or_404(token)
    if fmt not in documents.FORMATS:
        abort(404)
    try:
        content = documents.render(spec, formbuild.canonical(spec, draft.answers), fmt)
    except ValidationError:
        return redirect(url_for("web.check", token=token))
    return _download(content, fmt, documents.filename(spec, fmt, completed=True))


@bp.route("/d/<token>/submit", methods=["POST"])
def submit(token: str):
    draft, spec, pack = _draft_or_404(token)
    if _first_unfinished(spec, draft.answers) is not None:
        return redirect(url_for("web.check", token=token))
    session = db.session()
    data = formbuild.canonical(spec, draft.answers)
    try:
        validate_data(spec, data)
        case = session.get(Case, draft.case_id) if draft.case_id else None
        outcome = cases.submit(session, spec.id, data, channel="web", case=case)
    except (cases.CaseError, routing.RoutingError) as exc:
        # Nothing was stored; the answers stay in the draft so the person can fix and send again.
        agency = spec.field_for("receiving_agency")
        section = next((sec for sec in spec.sections if agency in sec.fields), None) if agency else None
        change = url_for("web.question", token=token, section_key=section.key, change="1") if section else None
        return _page(
            "problem.html",
            title="Your form could not be sent",
            pack=pack,
            message=f"Nothing was sent: {exc}.",
            change_url=change,
            back_url=url_for("web.check", token=token),
        ), 422
    drafts.discard(session, draft)
    if outcome.tracking_token:
        return redirect(url_for("web.confirmation", tracking=outcome.tracking_token))
    # An update to an existing case: only the token's hash is kept, so the page is shown here and
    # the submitter goes on using the tracking link they already hold.
    case = session.get(Case, outcome.case_id)
    return _page(
        "confirmation.html",
        title="Stage update sent",
        pack=pack,
        view=cases.tracking_view(session, case),
        routes=outcome.routes,
        tracking_link=None,
        record_links=None,
    )


@bp.route("/d/<token>/delete", methods=["POST"])
def delete(token: str):
    draft, spec, pack = _draft_or_404(token)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    drafts.discard(db.session(), draft)
    return _page("deleted.html", title="Your answers have been deleted", pack=pack, spec=spec)


# --- confirmation and tracking -------------------------------------------------------------


def _case_or_404(tracking: str):
    try:
        return cases.by_tracking_token(db.session(), tracking)
    except cases.UnknownCase:
        abort(404)


@bp.route("/t/<tracking>/confirmation")
def confirmation(tracking: str):
    case = _case_or_404(tracking)
    pack = _registry().pack(case.partnership)
    view = cases.tracking_view(db.session(), case)
    last = case.submissions[-1]
    routes = [r for r in case.routings if r.submission_id == last.id]
    return _page(
        "confirmation.html",
        title="Escalation sent",
        pack=pack,
        view=view,
        routes=routes,
        tracking_link=url_for("web.tracking", tracking=tracking, _external=True),
        record_links=[(fmt.upper(), url_for("web.record", tracking=tracking, fmt=fmt)) for fmt in documents.FORMATS],
    )


@bp.route("/t/<tracking>")
def tracking(tracking: str):
    case = _case_or_404(tracking)
    pack = _registry().pack(case.partnership)
    view = cases.tracking_view(db.session(), case)
    return _page(
        "tracking.html",
        title=f"Escalation {view['reference']}",
        pack=pack,
        view=view,
        tracking=tracking,
        update_forms=_update_forms(pack, case),
        record_links=[(fmt.upper(), url_for("web.record", tracking=tracking, fmt=fmt)) for fmt in documents.FORMATS],
        form=FlaskForm(),
    )


def _update_forms(pack: Pack, case) -> list[FormSpec]:
    """Forms the submitter can use to update this case: the last one used, the next stage's form,
    and the policy's outcome forms."""
    out: list[FormSpec] = []
    last = case.submissions[-1].form_id if case.submissions else None
    candidates = [last]
    if case.current_stage:
        index = pack.stage_index(case.current_stage)
        if index + 1 < len(pack.stages):
            candidates.append(pack.stages[index + 1].form)
    candidates.extend(f.id for f in journey.outcome_forms(pack))
    for form_id in candidates:
        if form_id and form_id not in [f.id for f in out]:
            try:
                out.append(pack.form(form_id))
            except KeyError:
                continue
    return out


@bp.route("/t/<tracking>/record.<fmt>")
def record(tracking: str, fmt: str):
    case = _case_or_404(tracking)
    if fmt not in documents.FORMATS or not case.submissions:
        abort(404)
    last = case.submissions[-1]
    spec = _registry().form(last.form_id)
    content = documents.render(spec, last.data, fmt)
    return _download(content, fmt, documents.filename(spec, fmt, completed=True, reference=case.reference))


@bp.route("/t/<tracking>/update", methods=["POST"])
def update(tracking: str):
    case = _case_or_404(tracking)
    pack = _registry().pack(case.partnership)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    allowed = {f.id: f for f in _update_forms(pack, case)}
    spec = allowed.get(request.form.get("form_id", ""))
    if spec is None:
        abort(400)
    # Start from the answers this case last gave on the same form, so only what changed is typed.
    previous = next((s for s in reversed(case.submissions) if s.form_id == spec.id), None)
    answers = formbuild.web_answers_from_canonical(spec, previous.data) if previous else {}
    if case.current_stage and spec.field_for("stage") is not None:
        answers.update(journey.preset_answers(spec, _next_stage(pack, case.current_stage)))
    return _start_draft(pack, spec.id, answers, case_id=case.id)


def _next_stage(pack: Pack, stage_id: str) -> str | None:
    index = pack.stage_index(stage_id)
    return pack.stages[index + 1].id if index + 1 < len(pack.stages) else None


def _ours() -> bool:
    """Error pages in GOV.UK style for the web journey only; other blueprints (the JSON API) keep theirs."""
    return request.blueprint in (None, "web") and not request.path.startswith("/api/")


@bp.app_errorhandler(404)
def not_found(exc):
    if not _ours():
        return exc
    return _page("not_found.html", title="Page not found"), 404


@bp.app_errorhandler(413)
def too_large(exc):
    if not _ours():
        return exc
    return _page("problem.html", title="What you sent is too large", message="Shorten your answers and try again."), 413


@bp.app_errorhandler(CSRFError)
def csrf_refused(exc):
    security.log_refusal(exc)
    if not _ours():
        return _page("problem.html", title="Sorry, there is a problem", message=REFUSED), 400
    return bad_request(exc)


REFUSED = "This form could not be accepted from where it was sent. Go back, reload the page and try again."


@bp.app_errorhandler(400)
def bad_request(exc):
    if not _ours():
        return exc
    message = "Your session may have expired, or the page was sent twice. Go back, reload the page and try again."
    return _page("problem.html", title="Sorry, there is a problem", message=message), 400


def register(app) -> None:
    app.register_blueprint(bp)

"""The draft's pages: each section's questions, saved for later, check your answers, download,
send, and delete. A draft is reached only through its private link (service.web.drafts)."""

from __future__ import annotations

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from marshmallow import ValidationError
from sqlalchemy import delete as delete_rows
from sqlalchemy import select

from forms.model import FormSpec, Pack, Section
from forms.schema import describe_errors, validate_data
from service import db
from service.casework import cases, once, routing
from service.casework.models import Case
from service.documents import records as documents
from service.web import agencies, child_details, drafts, formbuild
from service.web.answers import canonical, section_answers
from service.web.fields import sentence_case
from service.web.pages import bp, download_response, refused_sender, registry, render_page


def _draft_or_404(token: str) -> tuple[drafts.Draft, FormSpec, Pack]:
    draft = drafts.find(db.session(), token)
    if draft is None:
        abort(404)
    spec = registry().form(draft.form_id)
    return draft, spec, registry().pack(draft.partnership)


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
    """The first section whose stored answers do not pass its checks (a child's details included, on a
    form that carries none: a draft saved before that check is sent back to the page to remove them)."""
    refused = child_details.errors(spec, answers)
    for section in spec.sections:
        if not formbuild.answers_pass(spec, section, answers) or any(f.key in refused for f in section.fields):
            return section
    return None


def _child_details_refused(spec: FormSpec, section: Section, form, answers: dict) -> bool:
    """Mark each answer of this page that holds a child's details (a form that carries none); True if any."""
    found = {k: v for k, v in child_details.errors(spec, answers).items() if k in {f.key for f in section.fields}}
    for key, text in found.items():
        form[key].errors = [*form[key].errors, text]
    return bool(found)


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
        _child_details_refused(spec, section, form, draft.answers)  # shown at once on a page sent back here
        return _question_page(token, draft, spec, pack, section, form, changing)

    form = formbuild.make_section_form(spec, section, draft.answers, formdata=request.form)
    # The blueprint has checked the CSRF token of every POST before this point.
    if request.form.get("add_row") or request.form.get("remove_row"):
        formbuild.change_rows(form, add=request.form.get("add_row"), remove=request.form.get("remove_row"))
        return _question_page(token, draft, spec, pack, section, form, changing)

    answers = {**draft.answers, **section_answers(form)}
    # Refused before anything is kept, saving for later included: this form must not hold a child's details.
    if _child_details_refused(spec, section, form, answers):
        return _question_page(token, draft, spec, pack, section, form, changing)
    if request.form.get("save") == "later":
        drafts.save(db.session(), draft, answers=answers, done=draft.done, for_later=True)
        return redirect(url_for("web.saved", token=token))

    valid = form.validate()
    if not (agencies.check(form, pack, spec) and valid):
        return _question_page(token, draft, spec, pack, section, form, changing)

    done = sorted({*draft.done, section.key})
    drafts.save(db.session(), draft, answers=answers, done=done)
    following = _next_section(spec, section.key)
    if changing or following is None:
        return redirect(url_for("web.check", token=token))
    return redirect(url_for("web.question", token=token, section_key=following.key))


def _question_page(token, draft, spec, pack, section, form, changing):
    previous = _previous_section(spec, section.key)
    if changing:
        back = url_for("web.check", token=token)
    elif previous is not None:
        back = url_for("web.question", token=token, section_key=previous.key)
    else:
        back = url_for("web.guidance", pack_id=pack.id)
    number = [s.key for s in spec.sections].index(section.key) + 1
    questions = [formbuild.render_question(form[f.key], f) for f in section.fields]
    return render_page(
        "question.html",
        title=sentence_case(section.title),
        pack=pack,
        spec=spec,
        section=section,
        form=form,
        questions=questions,
        caption=f"{spec.short_title}: part {number} of {len(spec.sections)}",
        errors=formbuild.error_list(form),
        action=url_for("web.question", token=token, section_key=section.key, change="1" if changing else None),
        back_url=back,
        no_child_details=not spec.carries_child_details,
        agency_options=agencies.directory_agencies(pack, spec),
        not_listed_note=agencies.not_listed_note(pack, spec),
    )


@bp.route("/d/<token>/saved")
def saved(token: str):
    draft, spec, pack = _draft_or_404(token)
    return render_page(
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
    return render_page(
        "check.html",
        title="Check your answers before sending",
        pack=pack,
        spec=spec,
        summary=formbuild.summary(
            spec, draft.answers, lambda key: url_for("web.question", token=token, section_key=key, change="1")
        ),
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
        content = documents.render(spec, canonical(spec, draft.answers), fmt)
    except ValidationError:
        return redirect(url_for("web.check", token=token))
    return download_response(content, fmt, documents.filename(spec, fmt, completed=True))


@bp.route("/d/<token>/submit", methods=["POST"])
def submit(token: str):
    session = db.session()
    # A draft is sent once: a repeat (a second click, a resend) is shown the first send's confirmation.
    key = once.Once("draft", drafts.token_hash(token), drafts.token_hash(token))
    if (sent := once.find(session, key.scope, key.key_hash)) is not None:
        return _sent(token, key, sent)
    if drafts.find(session, token) is None:
        # Sent by another request between the two look-ups (its commit removed the draft): answer as it.
        session.rollback()  # a new snapshot, in which that send is visible
        if (sent := once.find(session, key.scope, key.key_hash)) is not None:
            return _sent(token, key, sent)
    draft, spec, pack = _draft_or_404(token)
    if (refused := refused_sender(pack, spec)) is not None:
        return refused
    if _first_unfinished(spec, draft.answers) is not None:
        return redirect(url_for("web.check", token=token))
    data = canonical(spec, draft.answers)
    if spec.process == "cp-conference":
        return _send_to_the_log(token, key, draft, spec, pack, data)
    tracking = once.tracking_token(current_app.config["SECRET_KEY"], key)
    try:
        case = session.get(Case, draft.case_id) if draft.case_id else None
        # The case, its e-mails, the record of this send and the draft's deletion commit together.
        cases.submit(session, spec.id, data, channel="web", case=case, once=key, tracking_token=tracking, commit=False)
        session.delete(draft)
        session.commit()
    except once.AlreadySent as exc:
        return _sent(token, key, exc.send)
    except (cases.CaseError, routing.RoutingError) as exc:
        # Nothing was stored; the answers stay in the draft so the person can fix and send again, on
        # the page of the first answer named (an agency the directory lacks: the agency's page).
        named = set(exc.messages) if isinstance(exc, cases.InvalidData) else set()
        agency = spec.field_for("receiving_agency")
        if agency is not None and not named:
            named = {agency.key}
        section = next((sec for sec in spec.sections if named & {f.key for f in sec.fields}), None)
        change = url_for("web.question", token=token, section_key=section.key, change="1") if section else None
        return render_page(
            "problem.html",
            title="Your form could not be sent",
            pack=pack,
            message=f"Nothing was sent: {exc}.",
            change_url=change,
            back_url=url_for("web.check", token=token),
        ), 422
    return _sent(token, key, once.find(session, key.scope, key.key_hash))


def _sent(token: str, key: once.Once, sent: once.Send):
    """The confirmation of a draft's send, the same however many times it is asked for."""
    session = db.session()
    case = session.get(Case, sent.case_id)
    if case.process == "cp-conference":
        return _conference_sent(session, case)
    if sent.created_case:
        tracking = once.tracking_token(current_app.config["SECRET_KEY"], key)
        return redirect(url_for("web.confirmation", tracking=tracking))
    # An update to an existing case: only the token's hash is kept, so the page is shown here and
    # the submitter goes on using the tracking link they already hold.
    return render_page(
        "confirmation.html",
        title="Stage update sent",
        pack=registry().pack(case.partnership),
        view=cases.tracking_view(session, case),
        routes=[r for r in case.routings if r.submission_id == sent.submission_id],
        tracking_link=None,
        record_links=None,
    )


def _send_to_the_log(token, key, draft, spec, pack, data):
    """An Appendix 3 table sent from the public journey by a signed-in chair or business unit
    (refused_sender holds that): each row becomes its own row of the chair's log and its own case, with
    its response deadline, and each agency is sent only its own row (service.conference)."""
    from service.conference import form_errors, log, tables

    session = db.session()
    try:
        # The draft's deletion and the record of this send commit with the conference, or neither does.
        # A statement, not session.delete: a send at the same moment finds the row already gone, and
        # the send's unique key (not the deletion) decides which one records the conference.
        session.execute(delete_rows(drafts.Draft).where(drafts.Draft.id == draft.id))
        session.expunge(draft)
        tables.record_all(
            session,
            tables.conferences_from(spec, validate_data(spec, data)),
            pack.id,
            recorded_by=current_user.email,
            channel="web",
            raw=None,
            filename=None,
            content_type=None,
            once=key,
        )
    except once.AlreadySent as exc:
        return _sent(token, key, exc.send)
    except (log.LogError, tables.TableError, ValidationError) as exc:
        session.rollback()
        if isinstance(exc, tables.ConferencesRefused):  # each conference, row and question named in words
            problems = "; ".join(e["text"] for e in form_errors.table_errors(exc.refused))
        elif isinstance(exc, log.LogError):
            problems = "; ".join(e["text"] for e in form_errors.errors(exc.messages, {})[0])
        elif isinstance(exc, ValidationError):
            problems = describe_errors(spec, exc.messages)
        else:
            problems = str(exc)
        return render_page(
            "problem.html",
            title="Your form could not be sent",
            pack=pack,
            message=f"Nothing was sent: {problems}.",
            change_url=url_for("web.question", token=token, section_key=spec.sections[0].key, change="1"),
            back_url=url_for("web.check", token=token),
        ), 422
    return _sent(token, key, once.find(session, key.scope, key.key_hash))


def _conference_sent(session, case: Case):
    """The confirmation of a sent Appendix 3 table: each row's case and response deadline."""
    from service.conference import wording
    from service.conference.models import ConferenceIssue

    first = session.scalar(select(ConferenceIssue).where(ConferenceIssue.case_id == case.id))
    rows = [
        {"reference": i.case.reference, "agency": i.agency, "due": i.due}
        for i in first.conference.issues
        if i.case is not None
    ]
    # Who is copied and the response time in the pack's words, as the log's pages say them.
    said = wording.described(case.partnership)
    return render_page(
        "conference_sent.html",
        title="Conference escalations sent",
        pack=registry().pack(case.partnership),
        rows=rows,
        said=said,
    )


@bp.route("/d/<token>/delete", methods=["POST"])
def delete(token: str):
    draft, spec, pack = _draft_or_404(token)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    drafts.discard(db.session(), draft)
    return render_page("deleted.html", title="Your answers have been deleted", pack=pack, spec=spec)

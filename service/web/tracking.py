"""The pages reached by a case's tracking link: confirmation, tracking, the completed record and
starting an update to the case."""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select

from forms.model import FormSpec, Pack
from service import db
from service.casework import cases, receipts
from service.casework.models import OutboxMessage
from service.documents import records as documents
from service.web import journey
from service.web.answers import web_answers_from_canonical
from service.web.formbuild import answers_list
from service.web.pages import bp, download_response, registry, render_page, start_draft


def _case_or_404(tracking: str):
    try:
        return cases.by_tracking_token(db.session(), tracking)
    except cases.UnknownCase:
        abort(404)


@bp.route("/t/<tracking>/confirmation")
def confirmation(tracking: str):
    case = _case_or_404(tracking)
    pack = registry().pack(case.partnership)
    view = cases.tracking_view(db.session(), case)
    last = case.submissions[-1]
    routes = [r for r in case.routings if r.submission_id == last.id]
    return render_page(
        "confirmation.html",
        title="Escalation sent",
        pack=pack,
        view=view,
        routes=routes,
        tracking_link=url_for("web.tracking", tracking=tracking, _external=True),
        record_links=[(fmt.upper(), url_for("web.record", tracking=tracking, fmt=fmt)) for fmt in documents.FORMATS],
        receipt_to=next(iter(receipts.addresses_in(case.raiser_contact)), None),
    )


@bp.route("/t/<tracking>")
def tracking(tracking: str):
    case = _case_or_404(tracking)
    pack = registry().pack(case.partnership)
    view = cases.tracking_view(db.session(), case)
    return render_page(
        "tracking.html",
        title=f"Escalation {view['reference']}",
        pack=pack,
        view=view,
        tracking=tracking,
        update_forms=_update_forms(pack, case),
        sent=_sent(case, tracking),
        record_links=[(fmt.upper(), url_for("web.record", tracking=tracking, fmt=fmt)) for fmt in documents.FORMATS],
        form=FlaskForm(),
    )


def raisers_own(case) -> list:
    """The submissions the holder of the tracking link sent through the web form, oldest first. What
    others sent to the case (a reply e-mail, an upload) is not theirs to see or to start from."""
    return [s for s in case.submissions if s.channel == "web"]


def _update_forms(pack: Pack, case) -> list[FormSpec]:
    """Forms the submitter can use to update this case: the last one used, the next stage's form,
    and the policy's outcome forms."""
    out: list[FormSpec] = []
    own = raisers_own(case)
    last = own[-1].form_id if own else None
    candidates = [last]
    following = pack.next_stage(case.current_stage)
    if following is not None:
        candidates.append(following.form)
    candidates.extend(f.id for f in journey.outcome_forms(pack))
    for form_id in candidates:
        if form_id and form_id not in [f.id for f in out]:
            try:
                out.append(pack.form(form_id))
            except KeyError:
                continue
    return out


def _sent(case, tracking: str) -> list[dict]:
    """What the raiser sent through the web form, newest first: the answers under the form's labels
    and the completed record of each. What others sent (a reply e-mail, an upload) is not theirs to see."""
    forms = registry().forms
    messages = list(db.session().scalars(select(OutboxMessage).where(OutboxMessage.case_id == case.id)))
    out = []
    for s in reversed(raisers_own(case)):
        spec = forms.get(s.form_id)
        if spec is None:
            continue
        out.append(
            {
                "routes": [_sent_to(r, messages) for r in case.routings if r.submission_id == s.id],
                "title": spec.short_title,
                "received": s.received_at.strftime("%-d %B %Y at %H:%M UTC"),
                "answers": answers_list(spec, s.data),
                "records": [
                    (fmt.upper(), url_for("web.sent_record", tracking=tracking, submission_id=s.id, fmt=fmt))
                    for fmt in documents.FORMATS
                ],
            }
        )
    return out


def _sent_to(route, messages) -> dict:
    """Who a submission went to, as the sender may see it (name and role, not their address), and
    whether the e-mail has gone."""
    message = next(
        (m for m in messages if m.submission_id == route.submission_id and route.email and m.to_email == route.email),
        None,
    )
    if message is None:
        delivery = "Not e-mailed: the partnership tells them by phone or by hand"
    elif message.status == "sent":
        delivery = f"E-mailed on {message.sent_at:%-d %B %Y}"
    elif message.status == "pending":
        delivery = "E-mail waiting to be sent"
    else:
        delivery = "The e-mail could not be delivered: the partnership's business unit has been told"
    who = route.name + (f", {route.agency}" if route.agency else "")
    return {"who": who, "why": route.reason, "delivery": delivery}


@bp.route("/t/<tracking>/sent/<int:submission_id>.<fmt>")
def sent_record(tracking: str, submission_id: int, fmt: str):
    case = _case_or_404(tracking)
    found = next((s for s in raisers_own(case) if s.id == submission_id), None)
    if fmt not in documents.FORMATS or found is None or found.form_id not in registry().forms:
        abort(404)
    spec = registry().form(found.form_id)
    content = documents.render(spec, found.data, fmt)
    return download_response(content, fmt, documents.filename(spec, fmt, completed=True, reference=case.reference))


@bp.route("/t/<tracking>/record.<fmt>")
def record(tracking: str, fmt: str):
    case = _case_or_404(tracking)
    own = raisers_own(case)
    if fmt not in documents.FORMATS or not own or own[-1].form_id not in registry().forms:
        abort(404)
    last = own[-1]
    spec = registry().form(last.form_id)
    content = documents.render(spec, last.data, fmt)
    return download_response(content, fmt, documents.filename(spec, fmt, completed=True, reference=case.reference))


@bp.route("/t/<tracking>/update", methods=["POST"])
def update(tracking: str):
    case = _case_or_404(tracking)
    pack = registry().pack(case.partnership)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    allowed = {f.id: f for f in _update_forms(pack, case)}
    spec = allowed.get(request.form.get("form_id", ""))
    if spec is None:
        abort(400)
    # Start from the answers this case last gave on the same form, so only what changed is typed.
    previous = next((s for s in reversed(raisers_own(case)) if s.form_id == spec.id), None)
    answers = web_answers_from_canonical(spec, previous.data) if previous else {}
    if case.current_stage and spec.field_for("stage") is not None:
        following = pack.next_stage(case.current_stage)
        answers.update(journey.preset_answers(spec, following.id if following else None))
    return start_draft(pack, spec.id, answers, case_id=case.id)


@bp.route("/t/<tracking>/emergency", methods=["POST"])
def emergency(tracking: str):
    """The raiser says the child is at immediate risk: the emergency route is shown and its use recorded.

    The case stays at its stage: no policy moves a case up the ladder for immediate risk."""
    case = _case_or_404(tracking)
    if not FlaskForm().validate_on_submit():
        abort(400)
    cases.record_emergency_route(db.session(), case)
    return redirect(url_for("web.tracking", tracking=tracking) + "#immediate-risk")

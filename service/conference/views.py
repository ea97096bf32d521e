"""Pages of the chair's log (under /workspace/conference) and the agencies' private response page.

Chairs record a conference with one row per agency issue, or upload a returned Appendix 3 table;
the log reads by row, by agency, by chair and by quarter with the patterns of this quarter, and
exports as CSV and XLSX. An agency's lead answers through /conference/respond/<token>.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from service import db
from service.casework import channels, workdays
from service.conference import access, form_errors, log, patterns, responses, tables, wording
from service.conference.models import REASONS, Conference, ConferenceResponse
from service.workspace.auth import public, remote_addr

bp = Blueprint("conference", __name__)
ROW_SLOTS = 5
# The log shows the newest rows; filters narrow it, and the exports hold every row.
PAGE_ROWS = 200
RESPOND_LABELS = {"responder": "Your name and role", "text": "Your agency's response"}  # respond.html's labels
PAGE_ERRORS = {
    "send_key": "Your response was not sent whole: send it again",
    "sent": "A response from this page is recorded already. To add what you have written, send it again",
}
VIEWS = {"rows": "Rows", "agency": "By agency", "chair": "By chair", "period": "By quarter"}


class CsrfForm(FlaskForm):
    """Only the CSRF token: the answers are read and checked by the log's marshmallow schema."""


def _today() -> dt.date:
    return workdays.today()


def _audit(action: str, partnership: str | None, detail: str, reference: str | None = None) -> None:
    from service.casework import audit

    audit.record(
        db.session(),
        current_user.email,
        action,
        partnership=partnership,
        case_reference=reference,
        detail=detail,
        remote_addr=remote_addr(),
    )


def _partnership_choice(action: str) -> tuple[list[str], str | None, list[dict]]:
    allowed = access.partnerships(action)
    asked = (request.values.get("partnership") or "").strip()
    if asked and asked not in allowed:
        return allowed, None, [{"text": "Choose one of your partnerships", "href": "#partnership"}]
    return allowed, asked or (allowed[0] if len(allowed) == 1 else None), []


def _date_arg(name: str, errors: list[dict]) -> dt.date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        errors.append({"text": f"{name.title()}: '{raw[:20]}' is not a date (YYYY-MM-DD)", "href": f"#{name}"})
        return None


def _filters(errors: list[dict]) -> patterns.Filters:
    return patterns.Filters(
        agency=(request.args.get("agency") or "").strip()[:300] or None,
        chair=(request.args.get("chair") or "").strip()[:200] or None,
        start=_date_arg("from", errors),
        end=_date_arg("to", errors),
    )


def _scope() -> tuple[list[str], list[dict]]:
    allowed, chosen, errors = _partnership_choice("read")
    return ([chosen] if chosen and request.values.get("partnership") else allowed), errors


# --- the log ----------------------------------------------------------------------------------


@bp.route("/workspace/conference")
@access.requires_log("read")
def log_page():
    session = db.session()
    scope, errors = _scope()
    filters = _filters(errors)
    view = request.args.get("view") or "rows"
    if view not in VIEWS:
        errors.append({"text": f"Choose a view: {', '.join(VIEWS.values())}", "href": "#view"})
        view = "rows"
    today = _today()
    found = patterns.issues(session, scope, filters, limit=PAGE_ROWS) if view == "rows" else []
    rows = [patterns.row_view(i, today) for i in found]
    tables_ = {
        "agency": lambda: patterns.by_agency(session, scope, filters),
        "chair": lambda: patterns.by_chair(session, scope, filters),
        "period": lambda: patterns.by_quarter(session, scope, filters),
    }
    summary = tables_[view]() if view in tables_ else []
    options = [(p, log.registry().pack(p).short_name) for p in access.partnerships("read")]
    if rows:
        _audit("case.view", scope[0] if len(scope) == 1 else None, f"conference log: {len(rows)} rows")
    session.commit()
    return render_template(
        "conference/log.html",
        title="Conference escalations log",
        rows=rows,
        summary=summary,
        view=view,
        views=VIEWS,
        page_rows=PAGE_ROWS,
        summary_header={"agency": "Agency", "chair": "Chair", "period": "Quarter"}.get(view, ""),
        reasons=REASONS,
        found_patterns=patterns.patterns(session, scope, today),
        follow_ups=[wording.described(p) for p in scope if p in log.conference_partnerships()],
        overdue=wording.overdue(log.overdue_count(session, today, scope)),
        held=responses.held(session, scope),
        filters=filters,
        today=today,
        can_record=bool(access.partnerships("record")),
        can_export=bool(access.partnerships("export")),
        partnership_options=options,
        # The choice shows for several partnerships, or when the error summary links to it.
        show_partnership=len(options) > 1 or any(e["href"] == "#partnership" for e in errors),
        chosen=request.args.get("partnership", ""),
        query=request.args.to_dict(),
        errors=errors,
    ), (400 if errors else 200)


# --- recording ---------------------------------------------------------------------------------


def _answers_from_form(form) -> dict:
    day, month, year = (form.get(f"meeting_date-{p}", "").strip() for p in ("day", "month", "year"))
    meeting_date = f"{year}-{month.zfill(2)}-{day.zfill(2)}" if day or month or year else ""
    rows = []
    for n in range(ROW_SLOTS):
        row = {k: form.get(f"rows-{n}-{k}", "").strip() for k in ("agency", "agency_rep", "reason", "reason_detail")}
        if any(row.values()):
            rows.append(row)
    return {
        "meeting_date": meeting_date,
        "family": form.get("family", ""),
        "chair_name": form.get("chair_name", ""),
        "rows": rows,
    }


def _new_page(
    partnership: str | None, answers: dict, errors: list[dict], status: int = 200, inline: dict | None = None
):
    allowed = access.partnerships("record")
    session = db.session()
    agencies = log.agencies(session, partnership) if partnership else []
    rows = list(answers.get("rows") or [])
    rows += [{} for _ in range(ROW_SLOTS - len(rows))]
    date = answers.get("meeting_date") or ""
    parts = date.split("-") if date.count("-") == 2 else ["", "", ""]
    return render_template(
        "conference/new.html",
        title="Record a conference",
        partnership=partnership,
        pack_name=log.registry().pack(partnership).name if partnership else None,
        partnership_options=[(p, log.registry().pack(p).short_name) for p in allowed],
        agencies=agencies,
        reasons=REASONS,
        answers=answers,
        rows=rows,
        date={"year": parts[0], "month": parts[1].lstrip("0"), "day": parts[2].lstrip("0")},
        form=CsrfForm(),
        words=wording.described(partnership) if partnership else None,
        errors=errors,
        inline=inline or {},
    ), status


@bp.route("/workspace/conference/new", methods=["GET", "POST"])
@access.requires_log("record")
def new():
    _allowed, partnership, errors = _partnership_choice("record")
    if request.method == "GET" or partnership is None:
        return _new_page(partnership, {"chair_name": current_user.name}, errors, 400 if errors else 200)
    form = CsrfForm()
    answers = _answers_from_form(request.form)
    if not form.validate_on_submit():
        return _new_page(partnership, answers, [{"text": "The form expired: try again", "href": "#family"}], 400)
    try:
        conference = log.record(
            db.session(),
            partnership,
            answers,
            recorded_by=current_user.email,
            chair_user_id=current_user.user.id,
            link_for=log.response_link,
        )
    except log.LogError as exc:
        summary, inline = form_errors.errors(exc.messages, answers)
        return _new_page(partnership, answers, summary, 400, inline)
    references = ", ".join(i.case.reference for i in conference.issues if i.case)
    _audit("conference.record", partnership, f"conference {conference.id}: {references}")
    db.session().commit()
    flash(f"Conference recorded: {len(conference.issues)} agency notification(s) queued.", "success")
    return redirect(url_for("conference.conference_page", conference_id=conference.id))


@bp.route("/workspace/conference/upload", methods=["POST"])
@access.requires_log("record")
def upload():
    _allowed, partnership, errors = _partnership_choice("record")
    form = CsrfForm()
    if partnership is None or errors:
        return _new_page(partnership, {}, errors or [{"text": "Choose a partnership", "href": "#partnership"}], 400)
    if not form.validate_on_submit():
        return _new_page(partnership, {}, [{"text": "The form expired: try again", "href": "#table"}], 400)
    file = request.files.get("table")
    if file is None or not file.filename:
        return _new_page(partnership, {}, [{"text": "Choose a DOCX, PDF or e-mail file", "href": "#table"}], 400)
    content = file.read(tables.MAX_BYTES + 1)
    try:
        found = tables.ingest(
            db.session(),
            content,
            file.filename,
            partnership,
            recorded_by=current_user.email,
            chair_user_id=current_user.user.id,
            content_type=file.mimetype,
        )
    except tables.TableError as exc:
        return _new_page(partnership, {}, [{"text": f"The table could not be read: {exc}", "href": "#table"}], 400)
    except tables.ConferencesRefused as exc:
        return _new_page(partnership, {}, form_errors.table_errors(exc.refused), 400)
    except log.LogError as exc:  # refused once checked (the directory changed meanwhile)
        return _new_page(partnership, {}, form_errors.errors(exc.messages, {})[0], 400)
    rows = sum(len(c.issues) for c in found)
    for conference in found:
        _audit("conference.record", partnership, f"conference {conference.id} from {file.filename}"[:500])
    db.session().commit()
    flash(f"{len(found)} conference(s) and {rows} agency row(s) read from {file.filename}.", "success")
    return redirect(url_for("conference.log_page"))


# --- one conference ---------------------------------------------------------------------------


def _conference(conference_id: int) -> Conference:
    found = db.session().scalar(
        select(Conference).where(
            Conference.id == conference_id, Conference.partnership.in_(access.partnerships("read"))
        )
    )
    if found is None:
        abort(404)  # another partnership's conference is answered like a missing one
    return found


@bp.route("/workspace/conference/<int:conference_id>")
@access.requires_log("read")
def conference_page(conference_id: int):
    conference = _conference(conference_id)
    today = _today()
    _audit("case.view", conference.partnership, f"conference {conference.id} ({conference.meeting_date})")
    db.session().commit()
    return render_template(
        "conference/conference.html",
        title=f"Conference of {conference.meeting_date:%d %B %Y}",
        conference=conference,
        recorded=f"{conference.recorded_by} ({channels.received(conference.channel)})",
        issues=[
            {
                "row": patterns.row_view(issue, today),
                "notified": f"{issue.notified_on:%d/%m/%Y}" + (f", chased {issue.chasers}×" if issue.chasers else ""),
                "sent_to": "; ".join(
                    f"{d.name} <{d.email}>" for d in (issue.case.routings if issue.case else []) if d.email
                ),
                "responses": issue.responses,
            }
            for issue in conference.issues
        ],
        form=CsrfForm(),
        errors=[],
    )


@bp.route("/workspace/conference/reply/<int:response_id>/accept", methods=["POST"])
@access.requires_log("read")
def accept_reply(response_id: int):
    session = db.session()
    response = session.get(ConferenceResponse, response_id)
    if response is None:
        abort(404)
    conference = _conference(response.issue.conference_id)
    if not CsrfForm().validate_on_submit():
        abort(400)
    _audit(
        "conference.accept",
        conference.partnership,
        f"reply {response.id}",
        response.issue.case.reference if response.issue.case else None,
    )
    responses.accept(session, response)
    flash("The reply is accepted as the agency's response.", "success")
    return redirect(url_for("conference.conference_page", conference_id=conference.id))


# --- exports -----------------------------------------------------------------------------------


@bp.route("/workspace/conference/export.<fmt>")
@access.requires_log("export")
def export(fmt: str):
    if fmt not in ("csv", "xlsx"):
        abort(404)
    errors: list[dict] = []
    filters = _filters(errors)
    if errors:
        abort(400)
    scope = access.partnerships("export")
    asked = request.args.get("partnership")
    if asked:
        if asked not in scope:
            abort(404)
        scope = [asked]
    session = db.session()
    rows = patterns.issues(session, scope, filters, limit=None)
    today = _today()
    _audit(f"export.{fmt}", scope[0] if len(scope) == 1 else None, f"conference log: {len(rows)} rows")
    session.commit()
    name = f"conference-log-{today.isoformat()}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        return Response(
            stream_with_context(patterns.csv_lines(rows, today)), mimetype="text/csv; charset=utf-8", headers=headers
        )
    return Response(
        patterns.xlsx(rows, today),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=headers,
    )


# --- the agency's response --------------------------------------------------------------------


@bp.route("/conference/respond/<token>", methods=["GET", "POST"])
@public
def respond(token: str):
    session = db.session()
    issue = responses.by_token(session, token)
    if issue is None:
        return render_template("conference/respond_unknown.html", title="Link not recognised", errors=[]), 404
    form = CsrfForm()
    errors: list[dict] = []
    values = {"responder": "", "text": "", "send_key": responses.send_key()}
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in values}
        if not form.validate_on_submit():
            errors.append({"text": "The form expired: try again", "href": "#text"})
        else:
            try:
                responses.record_link_response(session, issue, **values)
            except responses.ResponseError as exc:
                field, _, what = str(exc).partition(": ")
                label = RESPOND_LABELS.get(field)
                if field in PAGE_ERRORS:  # the page, not an answer: shown again with a key of its own
                    values["send_key"] = responses.send_key()
                    errors.append({"text": PAGE_ERRORS[field], "href": "#text"})
                else:
                    errors.append(
                        {"text": f"{label}: {what}", "href": f"#{field}"}
                        if label
                        else {"text": str(exc), "href": "#text"}
                    )
            else:
                copied = wording.described(issue.conference.partnership)["copied"]
                return render_template(
                    "conference/respond_done.html", title="Response received", issue=issue, copied=copied, errors=[]
                )
    return render_template(
        "conference/respond.html",
        title="Respond to a conference escalation",
        issue=issue,
        form=form,
        values=values,
        errors=errors,
    ), (400 if errors else 200)

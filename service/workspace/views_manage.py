"""Themes dashboard, exports (CSV streamed, XLSX), the annual report, and the contacts directory."""

from __future__ import annotations

import csv
import datetime as dt
import io

from flask import Response, abort, current_app, flash, redirect, render_template, request, stream_with_context, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from marshmallow import ValidationError
from sqlalchemy import select
from wtforms import SelectField, StringField

from service import db
from service.casework import directory, inbox, workdays
from service.casework.models import Contact
from service.documents import reports
from service.workspace import bp, themes
from service.workspace.auth import allowed_partnerships, requires
from service.workspace.common import audit_here, registry, today
from service.workspace.views_inbox import filters_from

FIRST_YEAR = 2015


def _year_arg(default: int | None) -> tuple[int | None, list[dict]]:
    """The year asked for; "all" for every year; none asked: `default`."""
    raw = (request.args.get("year") or "").strip()
    if not raw:
        return default, []
    if raw == "all":
        return None, []
    if raw.isdigit() and FIRST_YEAR <= int(raw) <= today().year + 1:
        return int(raw), []
    return default, [
        {"text": f"year: '{raw[:10]}' is not a year from {FIRST_YEAR} to {today().year + 1}", "href": "#year"}
    ]


def _partnership_arg(permission: str) -> tuple[list[str], list[dict]]:
    """The partnerships a page covers: the one asked for (if the user holds it), else all theirs."""
    allowed = allowed_partnerships(permission)
    asked = (request.args.get("partnership") or "").strip()
    if not asked:
        return allowed, []
    if asked in allowed:
        return [asked], []
    return allowed, [{"text": "partnership: not one of yours", "href": "#partnership"}]


def _year_options() -> list[tuple[str, str]]:
    return [(str(y), str(y)) for y in range(today().year, FIRST_YEAR - 1, -1)]


# --- themes dashboard -------------------------------------------------------------------------


@bp.route("/themes")
@requires("dashboard")
def dashboard():
    partnerships, errors = _partnership_arg("dashboard")
    # The current year unless asked otherwise: themes are reported by year, as in the annual report.
    year, year_errors = _year_arg(default=today().year)
    errors += year_errors
    day = today()
    found = themes.cached(
        current_app,
        (tuple(partnerships), year, day),
        lambda: themes.themes(db.session(), registry(), workdays.calendar(db.session()), partnerships, year, day),
    )
    allowed = allowed_partnerships("dashboard")
    return render_template(
        "workspace/dashboard.html",
        title=f"Themes: {found.title}",
        themes=found,
        errors=errors,
        partnership_options=[(p, registry().pack(p).short_name) for p in allowed],
        chosen=request.args.get("partnership", ""),
        year="all" if year is None else str(year),
        year_options=[("all", "All years"), *_year_options()],
    ), (400 if errors else 200)


# --- exports --------------------------------------------------------------------------------


def _export_scope():
    partnerships = allowed_partnerships("export")
    filters, errors = filters_from(request.args)
    if errors:
        abort(400, "; ".join(e["text"] for e in errors))
    if filters.get("partnership") and filters["partnership"] not in partnerships:
        abort(404)
    return partnerships, filters


def _export_name(extension: str) -> str:
    return f"escalate-submissions-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M}.{extension}"


@bp.route("/export.csv")
@requires("export")
def export_csv():
    """Stream every matching submission as CSV, COLUMNS in order; memory stays flat at any size."""
    partnerships, filters = _export_scope()
    audit_here("export.csv", partnership=filters.get("partnership"), detail=_describe(filters))
    db.session().commit()
    day = today()

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([name for name, _ in inbox.COLUMNS])
        for count, row in enumerate(inbox.iter_rows(db.session(), partnerships, filters, day), start=1):
            writer.writerow(inbox.csv_safe(row.export()))
            if count % 500 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    response = Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{_export_name("csv")}"'},
    )
    # Never turned into a list in memory, even by an after_request hook asking for its length.
    response.implicit_sequence_conversion = False
    return response


@bp.route("/export.xlsx")
@requires("export")
def export_xlsx():
    partnerships, filters = _export_scope()
    audit_here("export.xlsx", partnership=filters.get("partnership"), detail=_describe(filters))
    db.session().commit()
    content = reports.submissions_xlsx(
        inbox.iter_rows(db.session(), partnerships, filters, today()), inbox.COLUMNS, inbox.WIDTHS
    )
    return Response(
        content,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{_export_name("xlsx")}"'},
    )


def _describe(filters: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(filters.items()) if v not in (None, False, 1)) or "all"


# --- annual report --------------------------------------------------------------------------


@bp.route("/annual-report")
@requires("report")
def annual_report_page():
    """Choose the partnership, the year and the format; the choice redirects to the download."""
    allowed = allowed_partnerships("report")
    years = [str(y) for y, _ in _year_options()]
    chosen = {k: request.args.get(k, "") for k in ("partnership", "year", "fmt")}
    errors = []
    if any(chosen.values()):
        if chosen["partnership"] not in allowed and len(allowed) > 1:
            errors.append({"text": "Choose a partnership", "href": "#partnership"})
        if chosen["year"] not in years:
            errors.append({"text": "Choose a year", "href": "#year"})
        if chosen["fmt"] not in ("docx", "pdf"):
            errors.append({"text": "Choose Word or PDF", "href": "#fmt"})
        if not errors:
            partnership = chosen["partnership"] if chosen["partnership"] in allowed else allowed[0]
            year = int(chosen["year"])
            return redirect(url_for("workspace.annual_report", partnership=partnership, year=year, fmt=chosen["fmt"]))
    return render_template(
        "workspace/annual_report.html",
        title="Annual report",
        partnership_options=[(p, registry().pack(p).short_name) for p in allowed],
        year_options=_year_options(),
        chosen=chosen,
        errors=errors,
    ), (400 if errors else 200)


@bp.route("/annual-report/<partnership>/<int:year>.<fmt>")
@requires("report")
def annual_report(partnership: str, year: int, fmt: str):
    if partnership not in allowed_partnerships("report") or fmt not in ("docx", "pdf"):
        abort(404)
    if not FIRST_YEAR <= year <= today().year + 1:
        abort(404)
    session = db.session()
    found = themes.themes(session, registry(), workdays.calendar(session), [partnership], year, today())
    content = reports.annual_report(registry().pack(partnership), year, found, fmt)
    audit_here("report.annual", partnership=partnership, detail=f"{year} {fmt}")
    session.commit()
    mimetype = reports.MIMETYPES[fmt]
    name = f"{partnership}-escalations-annual-report-{year}.{fmt}"
    return Response(content, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- contacts directory ---------------------------------------------------------------------


class ContactForm(FlaskForm):
    """A directory entry; role, sector and stage are chosen from the partnership's pack by name."""

    role = SelectField("Role", validate_choice=False)
    agency = StringField("Agency")
    sector = SelectField("Sector", validate_choice=False)
    stage = SelectField("Stage", validate_choice=False)
    name = StringField("Name")
    title = StringField("Job title")
    email = StringField("E-mail address")
    phone = StringField("Phone")
    source = StringField("Where the policy names this contact")


class ImportForm(FlaskForm):
    file = FileField("Directory CSV")


class DeleteForm(FlaskForm):
    pass


def _directory_partnership(partnership: str) -> None:
    if partnership not in allowed_partnerships("directory"):
        abort(404)


@bp.route("/directory")
@requires("directory")
def directory_index():
    return redirect(url_for("workspace.directory_page", partnership=allowed_partnerships("directory")[0]))


def _with_choices(form: ContactForm, pack) -> ContactForm:
    form.role.choices = [("", "Choose a role")] + [(r.id, r.name) for r in pack.roles]
    form.sector.choices = [("", "None: the agency's own contact")] + [(s.id, s.name) for s in pack.sectors]
    form.stage.choices = [("", "Any stage")] + [(s.id, f"{s.label}: {s.name}") for s in pack.stages]
    return form


def _directory_render(partnership: str, form=None, editing: int | None = None, errors=None, status=200):
    pack = registry().pack(partnership)
    contacts = list(
        db.session().scalars(
            select(Contact).where(Contact.partnership == partnership).order_by(Contact.role, Contact.id)
        )
    )
    return render_template(
        "workspace/directory.html",
        title=f"Directory: {pack.short_name}",
        partnership=pack,
        partnership_options=[(p, registry().pack(p).short_name) for p in allowed_partnerships("directory")],
        contacts=contacts,
        role_names={r.id: r.name for r in pack.roles},
        sector_names={x.id: x.name for x in pack.sectors},
        stage_names={x.id: x.label for x in pack.stages},
        form=_with_choices(form or ContactForm(formdata=None), pack),
        editing=editing,
        import_form=ImportForm(formdata=None),
        errors=errors or [],
        columns=directory.COLUMNS,
    ), status


@bp.route("/directory/<partnership>")
@requires("directory")
def directory_page(partnership: str):
    _directory_partnership(partnership)
    editing = request.args.get("edit", type=int)
    form = None
    if editing:
        contact = _contact(partnership, editing)
        form = ContactForm(formdata=None, obj=contact)
    return _directory_render(partnership, form=form, editing=editing)


def _contact(partnership: str, contact_id: int) -> Contact:
    contact = db.session().get(Contact, contact_id)
    if contact is None or contact.partnership != partnership:
        abort(404)
    return contact


@bp.route("/directory/<partnership>/contacts", methods=["POST"])
@bp.route("/directory/<partnership>/contacts/<int:contact_id>", methods=["POST"])
@requires("directory")
def save_contact(partnership: str, contact_id: int | None = None):
    _directory_partnership(partnership)
    contact = _contact(partnership, contact_id) if contact_id else None
    form = ContactForm()
    if not form.validate_on_submit():
        return _directory_render(
            partnership, form, contact_id, [{"text": "The form expired: try again", "href": "#name"}], 400
        )
    data = {c: (form[c].data or "") for c in directory.COLUMNS if c != "partnership"}
    data["partnership"] = partnership
    try:
        clean = directory.ContactSchema().load(data)
    except ValidationError as exc:
        errors = []
        for key, messages in exc.messages.items():
            label = form[key].label.text if key in form else "The contact"
            missing = any("null" in m or "Missing" in m for m in messages)
            verb = "Choose" if key in ("role", "sector", "stage") else "Enter"
            text = f"{verb} the {label.lower()}" if missing else f"{label}: {' '.join(messages)}"
            if key in form:
                form[key].errors = [text]
            errors.append({"text": text, "href": f"#{key if key in form else 'role'}"})
        return _directory_render(partnership, form, contact_id, errors, 400)
    if contact is None:
        contact = Contact(**clean)
        db.session().add(contact)
    else:
        for key, value in clean.items():
            setattr(contact, key, value)
    audit_here(
        "directory.edit",
        partnership=partnership,
        detail=f"{'updated' if contact_id else 'added'} {clean['role']}: {clean['name']}",
    )
    db.session().commit()
    flash(f"Saved {clean['name']}.", "success")
    return redirect(url_for("workspace.directory_page", partnership=partnership))


@bp.route("/directory/<partnership>/contacts/<int:contact_id>/delete", methods=["POST"])
@requires("directory")
def delete_contact(partnership: str, contact_id: int):
    _directory_partnership(partnership)
    contact = _contact(partnership, contact_id)
    if DeleteForm().validate_on_submit():
        audit_here("directory.edit", partnership=partnership, detail=f"removed {contact.role}: {contact.name}")
        db.session().delete(contact)
        db.session().commit()
        flash(f"Removed {contact.name}.", "success")
    return redirect(url_for("workspace.directory_page", partnership=partnership))


@bp.route("/directory/<partnership>.csv")
@requires("directory")
def directory_csv(partnership: str):
    _directory_partnership(partnership)
    content = directory.export_csv(db.session(), partnership)
    name = f"{partnership}-directory.csv"
    return Response(content, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/directory/<partnership>/import", methods=["POST"])
@requires("directory")
def directory_import(partnership: str):
    _directory_partnership(partnership)
    form = ImportForm()
    if not form.validate_on_submit() or not form.file.data:
        return _directory_render(
            partnership, errors=[{"text": "Choose a CSV file to import", "href": "#file"}], status=400
        )
    content = form.file.data.read(directory.MAX_BYTES + 1)
    try:
        result = directory.import_csv(db.session(), content, partnership=partnership)
    except directory.DirectoryError as exc:
        errors = [
            {"text": f"row {row}: {message}" if row else message, "href": "#file"} for row, message in exc.errors[:50]
        ]
        return _directory_render(partnership, errors=errors, status=400)
    audit_here("directory.edit", partnership=partnership, detail=f"imported {result.count} contacts from CSV")
    db.session().commit()
    flash(f"Imported {result.count} contacts: {directory.import_words(result)}.", "success")
    return redirect(url_for("workspace.directory_page", partnership=partnership))

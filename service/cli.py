"""Flask command-line commands: `flask --app app forms`, `flask --app app render ...`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from marshmallow import ValidationError

from service import db
from service.documents import records as documents


def _registry():
    return current_app.extensions["registry"]


@click.command("forms")
@with_appcontext
def forms_command():
    """List every form: id, partnership and title."""
    for pack in _registry().packs:
        for spec in pack.forms:
            click.echo(f"{spec.id}\t{pack.name}\t{spec.title}")


@click.command("render")
@with_appcontext
@click.argument("form_id")
@click.option(
    "--data",
    "data_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Completed answers as JSON; omit for a blank form.",
)
@click.option("--format", "fmt", type=click.Choice(sorted(documents.FORMATS)), required=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def render_command(form_id: str, data_file: Path | None, fmt: str, out: Path):
    """Write a blank or completed FORM_ID document as DOCX or PDF."""
    try:
        spec = _registry().form(form_id)
    except KeyError:
        raise click.BadParameter(
            f"no form '{form_id}'; `flask --app app forms` lists them", param_hint="FORM_ID"
        ) from None
    data = None
    if data_file:
        try:
            data = json.loads(data_file.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise click.ClickException(f"{data_file}: not valid JSON: {exc}") from None
    try:
        content = documents.render(spec, data, fmt)
    except ValidationError as exc:
        click.echo(f"{data_file}: the answers do not fit form {form_id}:", err=True)
        for key, messages in exc.messages.items():
            click.echo(f"  {key}: {messages}", err=True)
        sys.exit(2)
    out.write_bytes(content)
    click.echo(f"wrote {out} ({len(content)} bytes)")


@click.command("build-templates")
@with_appcontext
def build_templates_command():
    """Regenerate templates/docx/<form-id>.docx, the Word template of every form, from the specs."""
    from service.documents.docx.templates import build_all

    for path in build_all(_registry()):
        click.echo(f"wrote {path}")


def register(app: Flask) -> None:
    for command in (forms_command, render_command, build_templates_command):
        app.cli.add_command(command)


# --- Cases, directory, outbox and bank holidays (issue 3) -------------------------------------


@click.command("db-prepare")
@with_appcontext
def db_prepare_command():
    """Migrate the database to the latest schema; outside production, seed the sample directory of the
    partnerships served (safe to repeat). Production never seeds the fictional sample contacts."""
    from forms.model import Registry
    from service.casework import directory
    from service.ops import settings

    db.upgrade(db.engine())
    click.echo(f"database at {db.engine().url.render_as_string(hide_password=True)} is up to date")
    served = settings.partnerships(current_app)
    packs = Registry(packs=tuple(p for p in _registry().packs if p.id in served))
    if settings.production(current_app):
        for pack in packs.packs:
            if missing := directory.missing_roles(db.session(), pack):
                click.echo(
                    f"directory: {pack.id} has no contact for {', '.join(missing)}; load its contacts with "
                    f"`flask --app app directory import FILE --partnership {pack.id}` (/readyz answers 503 until then)"
                )
        return
    added = directory.seed(db.session(), packs)
    click.echo(f"directory: {added} sample contacts added" if added else "directory: already seeded")


@click.command("case")
@db.needs_database
@click.argument("reference")
def case_command(reference: str):
    """Print case REFERENCE as JSON, each stage with its due date."""
    from service.casework import audit, cases

    try:
        case = cases.get(db.session(), reference)
    except cases.CaseError as exc:
        raise click.ClickException(str(exc)) from None
    view = cases.case_view(db.session(), case)
    if audit.case_viewed(db.session(), case, "system: flask case", detail="command line"):
        db.session().commit()
    click.echo(json.dumps(view, indent=2, ensure_ascii=False))


@click.command("overdue")
@db.needs_database
@click.option("--partnership", help="Only this partnership's cases.")
@click.option(
    "--today", type=click.DateTime(formats=["%Y-%m-%d"]), help="Count as of this date (default: today in England)."
)
def overdue_command(partnership: str | None, today):
    """List open cases past their current stage's due date."""
    from service.casework import cases

    try:
        found = cases.overdue(db.session(), partnership=partnership, today=today.date() if today else None)
    except cases.CaseError as exc:
        raise click.ClickException(str(exc)) from None
    for case in found:
        click.echo(f"{case.reference}\tstage {case.current_stage}\tdue {case.current_due.isoformat()}")


@click.group("directory")
def directory_group():
    """Import or export the contact directory as CSV."""


@directory_group.command("export")
@db.needs_database
@click.option("--partnership", help="Only this partnership's contacts.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout).")
def directory_export(partnership: str | None, out: Path | None):
    from service.casework import directory

    text = directory.export_csv(db.session(), partnership)
    if out:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}")
    else:
        click.echo(text, nl=False)


@directory_group.command("import")
@db.needs_database
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--partnership", help="Refuse rows for any other partnership.")
def directory_import(csv_file: Path, partnership: str | None):
    """Replace the directory of the partnerships in CSV_FILE (all rows valid, or nothing changes)."""
    from service.casework import directory

    try:
        result = directory.import_csv(db.session(), csv_file.read_bytes(), partnership=partnership)
    except directory.DirectoryError as exc:
        click.echo(f"{csv_file}: {exc}", err=True)
        sys.exit(2)
    click.echo(
        f"imported {result.count} contacts for {', '.join(result.partnerships)}: {directory.import_words(result)}"
    )


@click.group("outbox")
def outbox_group():
    """Send queued notifications."""


@outbox_group.command("deliver")
@db.needs_database
@click.option("--loop", is_flag=True, help="Keep delivering until stopped.")
@click.option("--interval", type=float, default=10.0, show_default=True, help="Seconds between rounds when idle.")
def outbox_deliver(loop: bool, interval: float):
    from service.casework import outbox

    try:
        settings = outbox.MailSettings.from_config(current_app.config)
    except ValueError as exc:  # an OAuth or DKIM setting missing or unsafe: named, never half-started
        raise click.ClickException(str(exc)) from None
    reports = (
        outbox.run_loop(db.sessions(), settings, interval=interval)
        if loop
        else [outbox.deliver(db.sessions(), settings)]
    )
    import logging

    from service.ops.logs import scrub

    log = logging.getLogger("escalate.outbox")
    for report in reports:
        if report.claimed or not loop:
            click.echo(f"sent {report.sent}, failed {report.failed} (will retry)")
            log.info("outbox.round", extra={"claimed": report.claimed, "sent": report.sent, "failed": report.failed})
        for error in report.errors or ():
            click.echo(f"  {scrub(error)}", err=True)  # an SMTP refusal can quote the recipient's address


@outbox_group.command("status")
@db.needs_database
def outbox_status():
    from service.casework import outbox

    click.echo(f"{outbox.pending_count(db.session())} pending")


@click.group("bank-holiday")
def bank_holiday_group():
    """One-off bank holidays on top of the England and Wales list."""


@bank_holiday_group.command("add")
@db.needs_database
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.argument("name")
def bank_holiday_add(day, name: str):
    from service.casework import workdays

    try:
        workdays.add_bank_holiday(db.session(), day.date(), name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"added {day.date().isoformat()}: {name}")


@bank_holiday_group.command("list")
@db.needs_database
def bank_holiday_list():
    from sqlalchemy import select

    from service.casework.models import BankHoliday

    for holiday in db.session().scalars(select(BankHoliday).order_by(BankHoliday.day)):
        click.echo(f"{holiday.day.isoformat()}\t{holiday.name}")


def register_cases(app: Flask) -> None:
    for command in (
        db_prepare_command,
        case_command,
        overdue_command,
        directory_group,
        outbox_group,
        bank_holiday_group,
    ):
        app.cli.add_command(command)

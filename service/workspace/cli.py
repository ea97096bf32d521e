"""Commands: `flask --app app users create|list`, `flask --app app retention purge [--dry-run]`,
`flask --app app audit verify` (the audit log's hash chain),
`flask --app app workspace demo` (the demo accounts and sample cases `make run` signs in to)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import func, select

from service import db
from service.casework import audit, retention
from service.casework.staff import ROLES, User
from service.workspace import auth

SAMPLES = Path(__file__).resolve().parent.parent.parent / "samples" / "forms"
# Demo data only: fictional accounts on .example addresses with a published password, for a local
# `make run`. Never run `workspace demo` on a server that holds real cases.
DEMO_PASSWORD = "demo-only-not-a-secret"  # noqa: S105 - published demo password, see above


def _partnerships() -> set[str]:
    return {pack.id for pack in current_app.extensions["registry"].packs}


@click.group("users")
def users_group():
    """Staff accounts of the workspace."""


@users_group.command("create")
@db.needs_database
@click.option("--email", required=True, help="Their e-mail address (sign-in name).")
@click.option("--name", default="", help="Their name as shown in the workspace.")
@click.option("--role", required=True, type=click.Choice(sorted(ROLES)), help="Their role.")
@click.option("--partnership", help="The partnership they work for (leave out for an admin across all).")
@click.option("--totp/--no-totp", default=False, help="Set up a TOTP second factor and print its key.")
@click.option(
    "--password",
    envvar="ESCALATE_NEW_PASSWORD",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help=f"At least {auth.MIN_PASSWORD} characters (prompted; or the ESCALATE_NEW_PASSWORD variable).",
)
def users_create(email: str, name: str, role: str, partnership: str | None, totp: bool, password: str):
    """Make a staff account (the first admin: --role admin without --partnership)."""
    session = db.session()
    secret = auth.new_totp_secret() if totp else None
    try:
        user = auth.create_user(session, email, name, password, role, partnership, _partnerships(), secret)
    except auth.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    audit.record(
        session, "system: users create", "user.create", partnership=partnership, detail=f"{user.email} as {role}"
    )
    session.commit()
    where = f"for {partnership}" if partnership else "across every partnership"
    click.echo(f"made {user.email}: {ROLES[role]} {where}")
    if secret:
        click.echo(f"TOTP key (add it to an authenticator app): {secret}")


@users_group.command("list")
@db.needs_database
def users_list():
    """Every account with its roles."""
    for user in db.session().scalars(select(User).order_by(User.email)):
        roles = ", ".join(f"{ROLES[m.role]} ({m.partnership or 'all'})" for m in user.memberships)
        click.echo(f"{user.email}\t{roles}\t{'active' if user.active else 'closed'}")


@click.group("retention")
def retention_group():
    """Purge cases closed longer ago than the retention period."""


@retention_group.command("purge")
@db.needs_database
@click.option("--dry-run", is_flag=True, help="List what would be purged; change nothing.")
@click.option("--years", type=click.IntRange(min=1), help="Retention period (default: RETENTION_YEARS, else 6).")
def retention_purge(dry_run: bool, years: int | None):
    """Delete cases closed more than the retention period ago (audited)."""
    years = years or int(
        current_app.config.get("RETENTION_YEARS") or os.environ.get("RETENTION_YEARS") or retention.DEFAULT_YEARS
    )
    now = dt.datetime.now(dt.UTC)
    session = db.session()
    if dry_run:
        due = retention.due_for_purge(session, years, now)
        for item in due:
            click.echo(f"{item.reference}\t{item.partnership}\tclosed {item.closed_at.date().isoformat()}")
        click.echo(f"dry run: {len(due)} case(s) closed before {retention.cutoff(now, years).date()} would be purged")
        return
    purged = retention.purge(session, years, now)
    for item in purged:
        click.echo(f"purged {item.reference}\t{item.partnership}")
    click.echo(f"{len(purged)} case(s) closed more than {years} years ago purged; each purge is in the audit log")


@click.group("workspace")
def workspace_group():
    """The business-unit workspace."""


def demo_email(partnership: str, role: str = "business-unit") -> str:
    return f"{role}@{partnership}.example"


def _demo_accounts() -> list[tuple[str, str, str, str]]:
    """(email, name, role, partnership) of each demo account: a business unit per partnership, and a
    conference chair for each partnership whose policy has a conference escalation form."""
    from service.conference.log import conference_partnerships

    packs = current_app.extensions["registry"].packs
    accounts = [(demo_email(p.id), f"{p.short_name} business unit (demo)", "business-unit", p.id) for p in packs]
    chairs = set(conference_partnerships())
    for pack in (p for p in packs if p.id in chairs):
        name = f"{pack.short_name} CP conference chair (demo)"
        accounts.append((demo_email(pack.id, "conference-chair"), name, "conference-chair", pack.id))
    return accounts


def _demo_submission(session, form_id: str, data: dict) -> None:
    """A sample as its user would send it: a conference table recorded in the chair's log (a case
    and a letter per row), any other form submitted as a case."""
    from forms.schema import validate_data
    from service.casework import cases
    from service.conference import tables

    spec = current_app.extensions["registry"].form(form_id)
    if spec.process != "cp-conference":
        cases.submit(session, form_id, data, channel="web")
        return
    found = tables.conferences_from(spec, validate_data(spec, data))
    chair = demo_email(spec.partnership, "conference-chair")
    tables.record_all(
        session, found, spec.partnership, recorded_by=chair, channel="web", raw=None, filename=None, content_type=None
    )


@workspace_group.command("demo")
@db.needs_database
def workspace_demo():
    """Make the demo accounts and sample cases (idempotent) and print how to sign in. Demo data only."""
    from service.casework.models import Case

    session = db.session()
    made = []
    for email, name, role, partnership in _demo_accounts():
        if session.scalar(select(User.id).where(User.email == email)) is None:
            auth.create_user(session, email, name, DEMO_PASSWORD, role, partnership, _partnerships())
            made.append(email)
    session.commit()
    if not session.scalar(select(func.count()).select_from(Case)):
        for path in sorted(SAMPLES.glob("*.json")):
            _demo_submission(session, path.stem, json.loads(path.read_text(encoding="utf-8")))
    click.echo("DEMO DATA ONLY: fictional accounts and sample cases for trying the workspace locally.")
    click.echo("Workspace: http://127.0.0.1:5000/workspace/sign-in")
    for email, name, *_ in _demo_accounts():
        click.echo(f"  {name.removesuffix(' (demo)'):<28} {email}  password: {DEMO_PASSWORD}")
    if made:
        click.echo(f"({len(made)} demo account(s) made now.)")


@click.group("audit")
def audit_group():
    """The append-only, hash-chained audit log."""


@audit_group.command("verify")
@db.needs_database
def audit_verify():
    """Walk the audit log's hash chain; name the first row that does not match (exit status 1)."""
    result = audit.verify(db.session())
    if not result.ok:
        raise click.ClickException(f"audit log: {result.problem} ({result.checked} entries checked)")
    click.echo(f"{result.checked} audit entries checked: chain intact")


def register(app: Flask) -> None:
    for command in (users_group, retention_group, workspace_group, audit_group):
        app.cli.add_command(command)

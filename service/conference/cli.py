"""Commands: `flask --app app conference chase|reply|import`.

- `chase`: a chaser for every row whose response is overdue (run daily, e.g. from cron; the
  outbox worker sends them). Links in chasers use PUBLIC_BASE_URL (default http://localhost:5000).
- `reply PATH...`: thread reply e-mails (.eml/.msg) to their rows (the ingestion pipeline does
  the same for mail it receives).
- `import PATH --partnership P --recorded-by EMAIL`: record the conferences of a returned Appendix 3 table.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask

from service import db


@click.group("conference")
def conference_group():
    """Child protection conference escalations (the chair's log)."""


@conference_group.command("chase")
@db.needs_database
def chase_command():
    """Queue a chaser for each row awaiting a response past its due date."""
    from service.conference import log

    chased = log.chase(db.session())
    for row in chased:
        said = {"reference": row.reference, "agency": row.agency, "due": row.due.isoformat(), "chasers": row.chasers}
        click.echo(json.dumps({**said, "failed": row.failed} if row.failed else said))
    failed = [row for row in chased if row.failed]
    click.echo(f"{len(chased) - len(failed)} chaser(s) queued", err=True)
    if failed:  # the timer's run shows as failed; those rows are chased again on the next run
        raise click.ClickException(f"{len(failed)} chaser(s) could not be written: see the lines with 'failed'")


@conference_group.command("reply")
@db.needs_database
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def reply_command(paths: tuple[Path, ...]):
    """Thread reply e-mails to their conference rows; one JSON line each."""
    from service.conference import responses

    failed = False
    for path in paths:
        try:
            reply = responses.thread_reply(db.session(), path.read_bytes())
        except responses.ResponseError as exc:
            click.echo(json.dumps({"file": str(path), "status": "refused", "reason": str(exc)}))
            failed = True
            continue
        if reply is None:
            click.echo(json.dumps({"file": str(path), "status": "not-a-reply", "reason": "answers no conference row"}))
            failed = True
            continue
        status = "duplicate" if reply.duplicate else "recorded" if reply.accepted else "held"
        click.echo(
            json.dumps({"file": str(path), "status": status, "reference": reply.reference, "reason": reply.reason})
        )
    if failed:
        raise SystemExit(1)


@conference_group.command("import")
@db.needs_database
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--partnership", required=True, help="The partnership whose log it is (e.g. kirklees).")
@click.option("--recorded-by", required=True, help="Who is recording it (an e-mail address).")
def import_command(path: Path, partnership: str, recorded_by: str):
    """Record the conferences of a returned Appendix 3 table (DOCX, PDF or e-mail)."""
    from service.conference import log, tables

    try:
        found = tables.ingest(db.session(), path.read_bytes(), path.name, partnership, recorded_by=recorded_by)
    except (tables.TableError, log.LogError) as exc:
        raise click.ClickException(str(exc)) from None
    for conference in found:
        click.echo(
            json.dumps(
                {
                    "conference": conference.id,
                    "meeting_date": conference.meeting_date.isoformat(),
                    "rows": [i.case.reference for i in conference.issues],
                }
            )
        )


def register(app: Flask) -> None:
    app.cli.add_command(conference_group)

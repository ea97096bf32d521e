"""Commands that read returned documents: `parse` (service.intake.parse_cli), `ingest`, `smtpd`, `imap-poll`, `worker`.

`parse` and `ingest` are also Flask plugin commands (pyproject's flask.commands), which `flask` finds
without building the app, so this module imports nothing at its top but click and Flask (every
`flask` command loads it). `ingest` that only stores and queues runs in app.create_cli_app (the
settings and the database); with --now or --trusted it reads and applies here, which opens cases
and queues their e-mails (links built from the app's routes, the conference log's hooks): the whole app.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import ScriptInfo

from service import db
from service.intake.parse_cli import parse_command


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--partnership", help="Recognise only this partnership's forms.")
@click.option("--form", "form_id", help="Read every file as this form.")
@click.option("--now", "read_now", is_flag=True, help="Read each file in this process instead of by the workers.")
@click.option(
    "--trusted",
    is_flag=True,
    help="Apply replies whoever sent them: you vouch for these files (each one is audited in your name; read here).",
)
@click.option("--by", "vouched_by", help="Who vouches (your e-mail address); required with --trusted.")
def ingest_command(
    paths: tuple[Path, ...],
    partnership: str | None,
    form_id: str | None,
    read_now: bool,
    trusted: bool,
    vouched_by: str | None,
):
    """Store each file and queue it to be read; print one JSON line per file ("received as item N").
    With --now, read and apply each here and print the outcome. A reply to a case applies only from an
    authenticated party, as by SMTP or IMAP; the rest are held for review. --trusted reads here too, so
    the person vouching sees each outcome."""
    if trusted and not (vouched_by or "").strip():
        raise click.UsageError("--trusted needs --by: the address of the person who vouches for these files")
    if partnership or form_id:
        _known(partnership, form_id)
    app = _command_app(whole=read_now or trusted)
    inputs = ((path.name, path.read_bytes()) for path in paths)
    with app.app_context():
        if reason := db.unprepared(app):  # a query of the version row when prepared: start-up stays bounded
            raise click.ClickException(f"{reason}, then ingest the files again")
        if read_now or trusted:
            lines = _read_here(app, paths, inputs, partnership, form_id, trusted, vouched_by)
        else:
            lines = _store_and_queue(app, paths, inputs, partnership, form_id)
        for line in lines:
            click.echo(json.dumps(line, ensure_ascii=False))


def _known(partnership: str | None, form_id: str | None) -> None:
    """Refuse, before anything is stored, a partnership or form this service does not have (an item
    stored under a mistyped one would wait for a form no pack holds). Loads the packs only when asked."""
    from forms import registry

    packs = registry()
    if partnership and partnership not in {p.id for p in packs.packs}:
        known = ", ".join(sorted(p.id for p in packs.packs))
        raise click.BadParameter(f"no partnership '{partnership}' here (one of: {known})", param_hint="--partnership")
    if form_id:
        forms = sorted(f for f, spec in packs.forms.items() if partnership in (None, spec.partnership))
        if form_id not in forms:
            where = f" of {partnership}" if partnership else ""
            raise click.BadParameter(
                f"no form '{form_id}'{where} here (one of: {', '.join(forms)})", param_hint="--form"
            )


def _command_app(*, whole: bool) -> Flask:
    """The app a command runs in: the one it was given (an app's own command line, as in the tests) or
    the whole app when it reads and applies; else the settings and database alone (app.create_cli_app)."""
    info = click.get_current_context().ensure_object(ScriptInfo)
    if whole or info.create_app is not None:
        return info.load_app()
    from app import create_cli_app

    return create_cli_app()


def _store_and_queue(app: Flask, paths, inputs, partnership, form_id):
    from service.intake.store import store

    with db.sessions(app)() as session:
        stored = [store(session, c, channel="cli", filename=n, partnership=partnership) for n, c in inputs]
        # The queue (Huey, and the redis and psycopg clients its storage module imports whatever the
        # queue) is loaded once every file is stored: what is stored is never lost, queued or not.
        from service.intake import jobs

        queued = jobs.enqueue(app, [o.item_id for o in stored if o.status == "received"], form_id)
        for path, outcome in zip(paths, stored, strict=True):
            yield _line(path, outcome, queued)


def _read_here(app: Flask, paths, inputs, partnership, form_id, trusted, vouched_by):
    from service.casework import audit
    from service.intake import ingest

    with db.sessions(app)() as session:
        outcomes = ingest.ingest_many(
            session, inputs, channel="cli", partnership=partnership, form_id=form_id, trusted=trusted or None
        )
        for path, outcome in zip(paths, outcomes, strict=True):
            yield _line(path, outcome, queued=True)
            if trusted:
                detail = f"{path.name}: {outcome.status} (received item {outcome.item_id})"
                audit.record(
                    session, vouched_by.strip(), "ingest.trusted", case_reference=outcome.reference, detail=detail
                )
                session.commit()


def _line(path: Path, outcome, queued: bool) -> dict:
    line = {"file": str(path), "item": outcome.item_id, "status": outcome.status}
    if outcome.status == "received":
        line["reason"] = f"received as item {outcome.item_id}; " + (
            "queued to be read" if queued else "the queue is unreachable: it is read once the queue is back"
        )
    else:
        line |= {"reference": outcome.reference, "routed": outcome.routed, "reason": outcome.reason}
        line["form_id"] = outcome.form_id
    return line


@click.command("intake-status")
@db.needs_database
def intake_status_command():
    """Print what waits to be read, as JSON: items waiting and being read, the oldest one's age in
    seconds, readings whose worker stopped (read again after their lease), jobs on the queue."""
    from service.intake import claims, jobs

    app = current_app._get_current_object()
    with db.sessions()() as session:
        found = claims.backlog(session)
    try:
        found["jobs_queued"] = jobs.queue(app).pending_count()
    except Exception as exc:  # Redis down: say so rather than fail
        found["jobs_queued"] = None
        found["queue"] = f"unreachable ({type(exc).__name__})"
    click.echo(json.dumps(found))


@click.command("worker")
@db.needs_database
@click.option("--processes", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.option(
    "--sweep-every", default=60, show_default=True, type=click.IntRange(1, 3600), help="Seconds between sweeps."
)
@click.option("--threads", is_flag=True, help="Threads instead of processes (a machine without fork).")
def worker_command(processes: int, sweep_every: int, threads: bool):
    """Read stored items from the intake queue (INTAKE_QUEUE_URL: SQLite by default, or Redis) until stopped."""
    from service.intake import jobs
    from service.intake.worker import consumer

    app = current_app._get_current_object()
    try:
        runner = consumer(app, processes, sweep_every, threads)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"reading from {jobs.queue_url(app).split('@')[-1]} with {processes} worker(s); Ctrl-C stops")
    runner.run()


@click.command("smtpd")
@db.needs_database
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8025, show_default=True, type=int)
def smtpd_command(host: str, port: int):
    """Receive returned forms by SMTP until interrupted; each message is ingested."""
    from service.intake.channels import smtp_controller

    controller, _ = smtp_controller(current_app._get_current_object(), host, port)
    controller.start()
    click.echo(f"receiving on {host}:{port}; Ctrl-C stops")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


@click.command("imap-poll")
@db.needs_database
@click.option("--every", type=int, default=0, help="Poll again every N seconds (0: once).")
def imap_poll_command(every: int):
    """Ingest unseen messages from the mailbox in IMAP_HOST/IMAP_USER/IMAP_PASSWORD (IMAP_FOLDER, IMAP_SSL)."""
    from service.intake.channels import ImapSettings, imap_poll

    config = {**{k: v for k, v in os.environ.items() if k.startswith("IMAP_")}, **current_app.config}
    try:
        settings = ImapSettings.from_config(config)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    import imaplib

    from service.casework.oauth import OAuthError

    while True:
        try:
            for outcome in imap_poll(current_app._get_current_object(), settings):
                click.echo(json.dumps(outcome.to_json(), ensure_ascii=False))
        except (OSError, imaplib.IMAP4.error, OAuthError) as exc:
            # The mailbox or the token service is away, or refused us: say so, and try again next round.
            click.echo(f"could not read the mailbox: {type(exc).__name__}: {exc}", err=True)
            if not every:
                sys.exit(1)
        if not every:
            return
        time.sleep(every)


def register(app: Flask) -> None:
    from service.intake import models  # noqa: F401 - registers the tables with the models

    for command in (
        parse_command,
        ingest_command,
        smtpd_command,
        imap_poll_command,
        worker_command,
        intake_status_command,
    ):
        app.cli.add_command(command)

"""Commands that read returned documents: `parse`, `ingest`, `smtpd`, `imap-poll`.

`parse` needs no application: it is also a Flask plugin command (pyproject's flask.commands entry
point), which `flask` runs without building the app, so it starts in a fraction of a second and
imports only the forms and the parsers' sandbox. The database and the models are imported by the
commands that use them.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from parsers import ParseError


@click.command("parse")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--form", "form_id", help="Read it as this form instead of recognising it.")
def parse_command(path: Path, form_id: str | None):
    """Print what PATH (a document, scan, photo, .eml or .msg) holds as JSON; nothing is stored."""
    from forms import registry as load_registry
    from parsers.sandbox import parse_safely

    registry = load_registry()
    try:
        result = parse_safely(path.read_bytes(), path.name, form_id=form_id)
    except ParseError as exc:
        click.echo(json.dumps({"file": str(path), "form_id": None, "reason": str(exc)}, ensure_ascii=False))
        sys.exit(1)
    spec = registry.forms.get(result.form_id) if result.form_id else None
    click.echo(json.dumps({"file": str(path), **result.to_json(spec)}, ensure_ascii=False, indent=1))
    if not result.recognised:
        sys.exit(1)


@click.command("ingest")
@with_appcontext
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--partnership", help="Recognise only this partnership's forms.")
@click.option("--form", "form_id", help="Read every file as this form.")
def ingest_command(paths: tuple[Path, ...], partnership: str | None, form_id: str | None):
    """Store, read and apply each file; print one JSON line per file."""
    from service import db
    from service.intake.ingest import ingest_many

    inputs = ((path.name, path.read_bytes()) for path in paths)
    with db.sessions()() as session:
        outcomes = ingest_many(session, inputs, channel="cli", partnership=partnership, form_id=form_id)
        for path, outcome in zip(paths, outcomes, strict=True):
            line = {"file": str(path), "status": outcome.status, "reference": outcome.reference}
            line |= {"routed": outcome.routed, "reason": outcome.reason, "form_id": outcome.form_id}
            click.echo(json.dumps(line, ensure_ascii=False))


@click.command("smtpd")
@with_appcontext
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
@with_appcontext
@click.option("--every", type=int, default=0, help="Poll again every N seconds (0: once).")
def imap_poll_command(every: int):
    """Ingest unseen messages from the mailbox in IMAP_HOST/IMAP_USER/IMAP_PASSWORD (IMAP_FOLDER, IMAP_SSL)."""
    from service.intake.channels import ImapSettings, imap_poll

    config = {**{k: v for k, v in os.environ.items() if k.startswith("IMAP_")}, **current_app.config}
    try:
        settings = ImapSettings.from_config(config)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    while True:
        for outcome in imap_poll(current_app._get_current_object(), settings):
            click.echo(json.dumps(outcome.to_json(), ensure_ascii=False))
        if not every:
            return
        time.sleep(every)


def register(app: Flask) -> None:
    from service.intake import models as _models  # noqa: F401 - registers the table with the models

    for command in (parse_command, ingest_command, smtpd_command, imap_poll_command):
        app.cli.add_command(command)

"""Commands that read returned documents: `parse`, `ingest`, `smtpd`, `imap-poll`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask, current_app

from parsers import ParseError


@click.command("parse")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--form", "form_id", help="Read it as this form instead of recognising it.")
def parse_command(path: Path, form_id: str | None):
    """Print what PATH (a .docx, .pdf, .eml or .msg) holds as JSON; nothing is stored."""
    from parsers.sandbox import parse_safely

    registry = current_app.extensions["registry"]
    try:
        result = parse_safely(path.read_bytes(), path.name, form_id=form_id)
    except ParseError as exc:
        click.echo(json.dumps({"file": str(path), "form_id": None, "reason": str(exc)}, ensure_ascii=False))
        sys.exit(1)
    spec = registry.forms.get(result.form_id) if result.form_id else None
    click.echo(json.dumps({"file": str(path), **result.to_json(spec)}, ensure_ascii=False, indent=1))
    if not result.recognised:
        sys.exit(1)


def register(app: Flask) -> None:
    for command in (parse_command,):
        app.cli.add_command(command)

"""Flask command-line commands: `flask --app app forms`, `flask --app app render ...`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from marshmallow import ValidationError

from service import documents


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
    from service.docx_templates import build_all

    for path in build_all(_registry()):
        click.echo(f"wrote {path}")


def register(app: Flask) -> None:
    for command in (forms_command, render_command, build_templates_command):
        app.cli.add_command(command)

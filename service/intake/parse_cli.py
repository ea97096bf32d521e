"""`flask parse`: what a returned file holds, as JSON; nothing is stored.

It needs no application, so it is also a Flask plugin command (pyproject's flask.commands entry
point), which `flask` runs without building the app: it starts in a fraction of a second and
imports only the forms and the parsers' sandbox (issue 16). service.intake.cli registers the same
command on the app.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.command("parse")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--form", "form_id", help="Read it as this form instead of recognising it.")
def parse_command(path: Path, form_id: str | None):
    """Print what PATH (a document, scan, photo, .eml or .msg) holds as JSON; nothing is stored."""
    from parsers import ParseError
    from parsers.sandbox import parse_safely

    try:
        result = parse_safely(path.read_bytes(), path.name, form_id=form_id)
    except ParseError as exc:
        click.echo(json.dumps({"file": str(path), "form_id": None, "reason": str(exc)}, ensure_ascii=False))
        sys.exit(1)
    spec = _spec(result.form_id)
    click.echo(json.dumps({"file": str(path), **result.to_json(spec)}, ensure_ascii=False, indent=1))
    if not result.recognised:
        sys.exit(1)


def _spec(form_id: str | None):
    """The form's spec, which names its answers; the packs are loaded only for a file that is a form."""
    if not form_id:
        return None
    from forms import registry

    return registry().forms.get(form_id)

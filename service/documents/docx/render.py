"""Blank and completed DOCX documents from the committed docxtpl templates (templates/docx/).

Everything the template prints is decided here, in Python: answers as escaped text, dates as
DD/MM/YYYY, a ☒ or ☐ for every option, blank rows for a blank form. The template only places them.

User text is data, never template code: it is rendered in a sandboxed, autoescaping Jinja
environment, XML-escaped here, and its braces written as character references so that neither
Jinja nor docxtpl's post-processing (which turns "{_{" into "{{") can read it as a tag.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from functools import lru_cache
from pathlib import Path

from docxtpl import DocxTemplate
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from forms.model import Field, FormSpec
from service.documents.docx.templates import TEMPLATES_DIR, template_path

TICKED, UNTICKED = "☒", "☐"

# Characters XML 1.0 forbids (and docxtpl's \a and \f paragraph/page markers): dropped, since a
# Word document holding them cannot be opened. Line breaks and tabs are kept.
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class _Environment(SandboxedEnvironment):
    """The sandbox, compiling each distinct template source once (docxtpl recompiles per render).

    Keyed by the exact source text, so a restyled template is simply a new entry.
    """

    def from_string(self, source, globals=None, template_class=None):
        if globals is not None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        return _compiled(self, source)


@lru_cache(maxsize=128)
def _compiled(env: SandboxedEnvironment, source: str):
    return SandboxedEnvironment.from_string(env, source)


class _Template(DocxTemplate):
    """docxtpl's template, with its XML clean-up (pure text in, text out) done once per source."""

    def patch_xml(self, src_xml):
        return _patched(src_xml)


_CLEANER = DocxTemplate(io.BytesIO())


@lru_cache(maxsize=64)
def _patched(src_xml: str) -> str:
    return DocxTemplate.patch_xml(_CLEANER, src_xml)


_ENV = _Environment(autoescape=True)


class TemplateMissing(FileNotFoundError):
    pass


_TEMPLATES: dict[Path, tuple[tuple[int, int], bytes]] = {}


def template_bytes(form_id: str, directory: Path = TEMPLATES_DIR) -> bytes:
    """A form's template, read once and again only when the file changes (a restyle needs no restart)."""
    path = template_path(form_id, directory)
    try:
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
        cached = _TEMPLATES.get(path)
        if cached is None or cached[0] != version:
            cached = _TEMPLATES[path] = (version, path.read_bytes())
    except FileNotFoundError:
        raise TemplateMissing(f"{path}: no DOCX template; run `flask --app app build-templates`") from None
    return cached[1]


def text(value: str) -> Markup:
    """User text as safe WordprocessingML text; docxtpl turns each "\\n" into a line break."""
    clean = _NOT_IN_XML.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    escaped = str(escape(clean)).replace("{", "&#123;").replace("}", "&#125;")
    return Markup(escaped)  # noqa: S704 - escaped on the line above


def uk_date(value: str) -> str:
    """An ISO date as UK forms write it: 03/11/2026."""
    return dt.date.fromisoformat(value).strftime("%d/%m/%Y") if value else ""


def _shown(spec_field: Field, value) -> Markup | str:
    if spec_field.type == "date":
        return uk_date(value)
    return text(value or "")


def _boxes(spec_field: Field, chosen) -> dict[str, str]:
    chosen = {chosen} if isinstance(chosen, str) else set(chosen or ())
    return {c.value: TICKED if c.value in chosen else UNTICKED for c in spec_field.choices}


def _rows(spec_field: Field, rows: list[dict] | None) -> list[dict]:
    if rows is None:  # blank form: room to write by hand
        return [dict.fromkeys((c.key for c in spec_field.columns), "") for _ in range(spec_field.blank_rows)]
    return [{c.key: _shown(c, row.get(c.key, "")) for c in spec_field.columns} for row in rows]


def context(spec: FormSpec, data: dict | None) -> dict:
    """What the template prints: answers, tick boxes (for tick lists and choices) and rows."""
    answer, ticks, rows = {}, {}, {}
    for spec_field in spec.fields:
        value = None if data is None else data.get(spec_field.key)
        if spec_field.type in ("ticks", "choice"):
            ticks[spec_field.key] = _boxes(spec_field, value)
        elif spec_field.type == "rows":
            rows[spec_field.key] = _rows(spec_field, value)
        else:
            answer[spec_field.key] = _shown(spec_field, value or "")
    return {"answer": answer, "ticks": ticks, "rows": rows}


def render_docx(spec: FormSpec, data: dict | None, templates: Path = TEMPLATES_DIR) -> bytes:
    """A blank (data None) or completed document; data must already be canonical (forms.schema)."""
    # docxtpl mutates the document it renders, so each render opens a fresh copy of the cached bytes.
    template = _Template(io.BytesIO(template_bytes(spec.id, templates)))
    template.render(context(spec, data), jinja_env=_ENV, autoescape=True)
    out = io.BytesIO()
    template.save(out)
    return out.getvalue()

"""Completed and blank documents for every form, in the formats the partnerships use."""

from __future__ import annotations

from forms.model import FormSpec
from forms.schema import validate_data

FORMATS = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}


def render(spec: FormSpec, data: dict | None, fmt: str) -> bytes:
    """A blank (data None) or completed document; data is validated against the spec first."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown format {fmt!r}: choose docx or pdf")
    clean = None if data is None else validate_data(spec, data)
    if fmt == "docx":
        from service.documents.docx.render import render_docx

        return render_docx(spec, clean)
    from service.documents.pdf.render import render_pdf

    return render_pdf(spec, clean)


def filename(spec: FormSpec, fmt: str, *, completed: bool, reference: str | None = None) -> str:
    """A download name that says which form it is, and which case when there is one."""
    if reference:
        return f"{reference}-{spec.id}.{fmt}"
    return f"{spec.id}-{'completed' if completed else 'blank'}.{fmt}"

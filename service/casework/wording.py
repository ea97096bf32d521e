"""Words a person reads that more than one part of the service writes: a moment, and a received file
as people know it (its name and when it came, never the number the database gave it)."""

from __future__ import annotations

import datetime as dt


def moment(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%d %b %Y %H:%M UTC") if value else "–"


def received_file(item, *, heading: bool = False) -> str:
    """A received item (service.intake.models) as 'form.docx, received 03 Dec 2026 14:05 UTC'; one
    with no file name is 'an e-mail' or 'a file with no name' ('An e-mail' as a page's heading)."""
    name = item.filename or ("an e-mail" if item.content_type == "message/rfc822" else "a file with no name")
    if heading and not item.filename:
        name = name[0].upper() + name[1:]
    return f"{name}, received {moment(item.received_at)}"

"""Words a person reads that more than one part of the service writes: a moment, and a received file
as people know it (its name and when it came, never the number the database gave it)."""

from __future__ import annotations

import datetime as dt

NO_NAME = "a file with no name"
# A received item's state, in words and its badge's colour (the upload table, the inbox).
STATES = {
    "received": ("Received, waiting to be read", "grey"),
    "reading": ("Being read", "blue"),
    "accepted": ("Read: applied to case", "green"),
    "quarantined": ("Quarantined", "red"),
    "held": ("Held for review", "yellow"),
    "ignored": ("Ignored", "grey"),
    "duplicate": ("Received before", "purple"),
}


def moment(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%d %b %Y %H:%M UTC") if value else "–"


def received_file(item, *, heading: bool = False) -> str:
    """A received item (service.intake.models) as 'form.docx, received 03 Dec 2026 14:05 UTC'; an
    e-mail by its sender once read ('an e-mail from ...'; 'An e-mail ...' as a page's heading)."""
    if item.channel in ("smtp", "imap"):
        name = f"an e-mail from {item.sender}" if item.sender else "an e-mail"
    elif item.filename:
        return f"{item.filename}, received {moment(item.received_at)}"
    else:
        name = NO_NAME
    return f"{name[0].upper() + name[1:] if heading else name}, received {moment(item.received_at)}"


def item_state(item) -> str:
    """What became of a received item, as a clause: 'read: applied to case', 'quarantined'."""
    words = STATES.get(item.status, (item.status,))[0]
    return words[:1].lower() + words[1:]

"""How things reach a case, and the words each page uses for them: the one table of channels.

A submission comes by one of SUBMITTED (its `channel`); a stage can also be entered from the tracking
page or the workspace (`case_stages.channel`). A returned file reaches intake by one of RECEIVED
(service.intake keeps it on the item) and becomes a submission by the case channel it maps to.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Channel:
    moved_by: str  # in a stage's reason ("moved by ...", "... received: ...")
    name: str | None = None  # the inbox's column, filter and exports; None: no submission comes this way
    received: str | None = None  # the case page, under each submission


CHANNELS: dict[str, Channel] = {
    "web": Channel("a form sent on the web", "Web form", "sent with the web form"),
    "email": Channel("a form returned by e-mail", "E-mail", "received by e-mail"),
    "upload": Channel("a document uploaded", "Upload", "uploaded by staff"),
    "api": Channel("the partnership's system (API)", "API", "received through the API"),
    "import": Channel("an imported record", "Import", "imported"),
    "tracking": Channel("an update on the tracking page"),
    "workspace": Channel("the business unit (workspace)"),
}
SUBMITTED = tuple(key for key, channel in CHANNELS.items() if channel.name)


@dataclass(frozen=True)
class Received:
    case_channel: str  # the submission's channel, a key of CHANNELS
    words: str  # the quarantine pages: "Received ... by e-mail"


RECEIVED: dict[str, Received] = {
    "upload": Received("upload", "upload by staff"),
    "cli": Received("import", "import by an administrator"),
    "smtp": Received("email", "e-mail"),
    "imap": Received("email", "e-mail"),
}


def moved_by(channel: str) -> str:
    return CHANNELS[channel].moved_by if channel in CHANNELS else channel


def name(channel: str) -> str:
    found = CHANNELS.get(channel)
    return found.name if found and found.name else channel


def received(channel: str) -> str:
    found = CHANNELS.get(channel)
    return found.received if found and found.received else channel


def received_by(intake_channel: str) -> str:
    return RECEIVED[intake_channel].words if intake_channel in RECEIVED else "another channel"

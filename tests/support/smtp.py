"""An SMTP server (aiosmtpd) on a fixed free port that a test can stop and start again, keeping every
message it accepts."""

from __future__ import annotations

import email
import time
from email import policy

from aiosmtpd.controller import Controller

from tests.support.ports import free_port


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts: parsed, and as received with its recipients."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        self.received.append((list(envelope.rcpt_tos), raw))
        self.messages.append(email.message_from_bytes(raw, policy=policy.default))
        return "250 Message accepted for delivery"

    def wait_for(self, needle: bytes, seconds: float = 60) -> tuple[list[str], bytes]:
        """(recipients, raw message) of the first message holding `needle`; fails after `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for message in list(self.received):
                if needle in message[1]:
                    return message
            time.sleep(0.5)
        raise AssertionError(f"no message with {needle!r} reached the SMTP server within {seconds} s")


class SMTPServer:
    """A local SMTP server on a fixed port, which can be stopped and started again."""

    def __init__(self):
        self.port = free_port()
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> SMTPServer:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

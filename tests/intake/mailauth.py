"""Authenticated test mail: the receiving server's verdict (Authentication-Results) that a test trusts."""

from __future__ import annotations

MX = "mx.test.example"  # the organisation's receiving server in these tests (TRUSTED_AUTHSERV_ID)


def vouched(raw: bytes, dmarc: str = "pass", *, server: str = MX, header_from: str | None = None) -> bytes:
    """The message as the receiving server hands it on: its Authentication-Results header on top."""
    from service.intake.sender_auth import from_addresses

    domain = header_from or (from_addresses(raw) or ["x@unknown.example"])[0].rpartition("@")[2]
    return f"Authentication-Results: {server}; dmarc={dmarc} header.from={domain}\r\n".encode() + raw

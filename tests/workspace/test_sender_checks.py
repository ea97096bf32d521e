"""The case page shows each e-mail's sender check beside it, and replies held for review with their reason."""

from __future__ import annotations

from bs4 import BeautifulSoup

from service.db import sessions
from service.intake import ingest
from tests.intake.mailauth import MX
from tests.intake.test_ingest import document, email_with
from tests.workspace.support import signed_in, ws_app_fixture, ws_session_fixture  # noqa: F401


def test_each_email_on_the_case_page_shows_its_sender_check(ws_app, monkeypatch):
    monkeypatch.setenv("TRUSTED_AUTHSERV_ID", MX)
    with ws_app.app_context(), sessions(ws_app)() as session:
        first = ingest.ingest(session, document("nt-appendix-a"), channel="upload")
        reference = first.reference
        update = document("nt-appendix-a", stage="4", outcome="Escalated.")
        good = email_with(update, subject=f"RE: [{reference}]", message_id="<ok@riverside.example>")
        assert ingest.ingest(session, good, channel="smtp").status == "accepted"
        forged = email_with(update, subject=f"RE: [{reference}]", dmarc="fail", message_id="<no@riverside.example>")
        assert ingest.ingest(session, forged, channel="smtp").status == "held"
    client = signed_in(ws_app, "bu@nt.example", "business-unit", "north-tyneside")
    page = BeautifulSoup(client.get(f"/workspace/cases/{reference}").get_data(as_text=True), "html.parser")
    checked = [
        p.get_text(" ", strip=True) for p in page.select(".moj-timeline__item p") if "E-mail from" in p.get_text()
    ]
    assert checked == [f"E-mail from zoe.nowak@riverside.example: Sender checked DMARC passed at {MX}"]
    held = page.select_one("#held + ul").get_text(" ", strip=True)
    assert "Sender not proven" in held and f"DMARC fail at {MX}" in held and "Review it" in held

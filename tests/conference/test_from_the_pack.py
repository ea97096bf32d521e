"""The response time, the chasers and who is copied are the pack's, never the code's: a pack giving
other numbers changes the due date, the chasers' due dates and how many are sent; the letters and
pages say the policy's words first and label the service's reading, and name the copied role as the
pack names it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

import forms.loader
from forms import registry
from forms.loader import load_pack
from forms.model import Registry
from service.casework.models import OutboxMessage
from service.conference import log
from tests.conference.test_log import (  # noqa: F401
    LEADS,
    ROWS,
    answers,
    conference_app,
    conference_session,
    link_for,
    record,
)
from tests.support.packs import pack_copy, rename_cp_review_unit
from tests.workspace.support import hidden_from, signed_in

POLICY_WORDS = "“each step in this process should not exceed 5 working days”"


def _three_days_one_chaser(raw: dict) -> None:
    follow_up = raw["conference_follow_up"]
    follow_up["response"].update(days=3, reading="a test's reading: 3 working days")
    follow_up["chasers"].update(count=1)


def _use(tmp_path, monkeypatch, change):
    """The registry with Kirklees loaded from a changed copy of its pack."""
    pack = load_pack(pack_copy(tmp_path, change))
    packs = tuple(pack if p.id == "kirklees" else p for p in registry().packs)
    monkeypatch.setattr(forms.loader, "_REGISTRY", Registry(packs))
    return pack


@pytest.fixture
def other_numbers(tmp_path, monkeypatch):
    return _use(tmp_path, monkeypatch, _three_days_one_chaser)


@pytest.fixture
def renamed_unit(tmp_path, monkeypatch):
    return _use(tmp_path, monkeypatch, rename_cp_review_unit)


def _reminders(session) -> list[OutboxMessage]:
    return [m for m in session.scalars(select(OutboxMessage)) if "Reminder: response overdue" in m.subject]


def test_the_pack_sets_the_due_date_and_how_many_chasers(ws_app, ws_session, other_numbers):
    conference = record(ws_app, ws_session, answers(rows=[ROWS[0]]))
    issue = conference.issues[0]
    # Three working days from Monday 9 November 2026, not the Kirklees pack's five (Monday 16th).
    assert issue.due == dt.date(2026, 11, 12)
    with ws_app.app_context():
        chased = log.chase(ws_session, now=dt.datetime(2026, 11, 13, 8, tzinfo=dt.UTC), link_for=link_for)
        assert [(c.due, c.chasers) for c in chased] == [(dt.date(2026, 11, 18), 1)]
        # One chaser is the pack's most: once overdue again, none is sent.
        assert log.chase(ws_session, now=dt.datetime(2026, 11, 30, 8, tzinfo=dt.UTC), link_for=link_for) == []
    assert issue.chasers == 1 and len(_reminders(ws_session)) == 2  # the lead and the CPRU's copy
    lead = next(m for m in _reminders(ws_session) if m.to_email == LEADS[ROWS[0]["agency"]])
    assert "This is reminder 1 of at most 1." in lead.body and "at most once" in lead.body


def test_the_kirklees_pack_gives_five_days_and_two_chasers(ws_app, ws_session):
    conference = record(ws_app, ws_session, answers(rows=[ROWS[0]]))
    assert conference.issues[0].due == dt.date(2026, 11, 16)
    with ws_app.app_context():
        assert log.chase(ws_session, now=dt.datetime(2026, 11, 13, 8, tzinfo=dt.UTC), link_for=link_for) == []
        for day in (17, 24, 30):
            log.chase(ws_session, now=dt.datetime(2026, 11, day, 8, tzinfo=dt.UTC), link_for=link_for)
    assert conference.issues[0].chasers == 2


def test_the_letter_says_the_policy_words_then_the_labelled_reading(ws_app, ws_session):
    conference = record(ws_app, ws_session, answers(rows=[ROWS[0]]))
    with ws_app.app_context():
        log.chase(ws_session, now=dt.datetime(2026, 11, 17, 8, tzinfo=dt.UTC), link_for=link_for)
    bodies = [m.body for m in ws_session.scalars(select(OutboxMessage)) if m.case_id == conference.issues[0].case_id]
    assert len(bodies) == 4  # the notification and the chaser, each to the lead and the CPRU
    for body in bodies:
        text = " ".join(body.split())
        assert f"KSCP §2 (Appendix 3 itself sets no response time): {POLICY_WORDS} (the policy’s words; " in text
        assert text.index(POLICY_WORDS) < text.index("this service’s reading: Appendix 3 sets no time")
    chaser = " ".join(next(b for b in bodies if "This is reminder" in b).split())
    assert "at most twice (this service’s reading: the protocol says nothing of chasers;" in chaser


def test_the_pages_say_the_policy_words_then_the_labelled_reading(ws_app, ws_session, other_numbers):
    client = signed_in(ws_app, "chair@kirklees.example", "conference-chair", "kirklees")
    for url in ("/workspace/conference", "/workspace/conference/new?partnership=kirklees"):
        page = client.get(url).get_data(as_text=True)
        assert (
            f"{POLICY_WORDS} (the policy’s words; this service’s reading: a test&#39;s reading: 3 working days)" in page
        )
        assert (
            "another 3 working days, at most once (this service’s reading: the protocol says nothing of chasers" in page
        )


def test_pages_and_letters_name_the_copied_role_as_the_pack_does(ws_app, ws_session, renamed_unit):
    conference = record(ws_app, ws_session, answers(rows=[ROWS[0]]))
    client = signed_in(ws_app, "chair@kirklees.example", "conference-chair", "kirklees")
    for url in ("/workspace/conference", "/workspace/conference/new?partnership=kirklees"):
        page = client.get(url).get_data(as_text=True)
        assert "copying the Conference Liaison Office" in page and "CPRU" not in page
    lead = next(m for m in ws_session.scalars(select(OutboxMessage)) if m.to_email == LEADS[ROWS[0]["agency"]])
    # No closing line names the renamed role: its contact follows the closing instead of being dropped.
    assert lead.body.rstrip().count("cpru@kscp.example") == 1
    token = re.search(r"/conference/respond/(\S+)", lead.body).group(1)
    path = f"/conference/respond/{token}"
    public = ws_app.test_client()
    done = public.post(
        path,
        data={**hidden_from(public.get(path).get_data(as_text=True)), "responder": "DSL", "text": "Noted."},
    ).get_data(as_text=True)
    assert "the Conference Liaison Office can see it" in done and "CPRU" not in done
    assert conference.issues[0].agency == ROWS[0]["agency"]


def test_the_case_page_gives_the_packs_response_time(ws_app, ws_session, other_numbers, monkeypatch):
    """A conference row's case page says the pack's response time, as the log's pages do (it said
    "Kirklees §2: within 5 working days" whatever the pack gave)."""
    monkeypatch.setitem(ws_app.extensions, "registry", registry())  # the workspace reads the app's registry
    conference = record(ws_app, ws_session, answers(rows=[ROWS[0]]))
    bu = signed_in(ws_app, "bu@kirklees.example", "business-unit", "kirklees")
    page = bu.get(f"/workspace/cases/{conference.issues[0].case.reference}").get_data(as_text=True)
    assert f"{POLICY_WORDS} (the policy’s words; this service’s reading: a test&#39;s reading: 3 working days)" in page
    assert "within 5 working days" not in page

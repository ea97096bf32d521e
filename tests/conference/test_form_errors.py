"""The chair's conference form: an empty or wrong submission shows GOV.UK messages in the error
summary and at each input, never the validators' own words."""

from __future__ import annotations

from bs4 import BeautifulSoup

from tests.conference.test_log import conference_app, conference_session  # noqa: F401 - the fixtures
from tests.workspace.support import csrf_from, signed_in


def _chair(ws_app):
    """A signed-in chair and the CSRF token of their Record a conference page."""
    chair = signed_in(ws_app, "chair@kirklees.example", "conference-chair", "kirklees")
    return chair, csrf_from(chair.get("/workspace/conference/new").get_data(as_text=True))


def test_an_empty_submission_is_marked_at_each_input(ws_app):
    chair, csrf = _chair(ws_app)
    response = chair.post(
        "/workspace/conference/new?partnership=kirklees",
        data={"csrf_token": csrf, "chair_name": "", "family": ""},
    )
    assert response.status_code == 400
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    summary = {a.get_text(strip=True): a["href"] for a in soup.select(".govuk-error-summary a")}
    assert summary["Enter the date of the meeting"] == "#meeting_date-day"
    assert summary["Enter the family name, or identifying factors"] == "#family"
    assert summary["Enter the CP chair's name"] == "#chair_name"
    assert summary["Add at least one agency row: choose the agency and the reason"] == "#rows-0-agency"
    for target in ("meeting_date-day", "family", "chair_name", "rows-0-agency"):
        assert soup.select_one(f"#{target}-error") is not None, target
    text = soup.get_text(" ")
    assert "Shorter than minimum" not in text and "Not a valid" not in text and "meeting_date" not in text


def test_a_row_without_a_reason_and_a_future_date(ws_app):
    chair, csrf = _chair(ws_app)
    response = chair.post(
        "/workspace/conference/new?partnership=kirklees",
        data={
            "csrf_token": csrf,
            "meeting_date-day": "1",
            "meeting_date-month": "1",
            "meeting_date-year": "2099",
            "family": "Family B",
            "chair_name": "Rhian Pritchard",
            "rows-0-agency": "Greenfield High School",
        },
    )
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    summary = [a.get_text(strip=True) for a in soup.select(".govuk-error-summary a")]
    assert "Row 1: choose the reason for escalation" in summary
    assert soup.select_one("#rows-0-reason-error") is not None
    response = chair.post(
        "/workspace/conference/new?partnership=kirklees",
        data={
            "csrf_token": csrf,
            "meeting_date-day": "1",
            "meeting_date-month": "1",
            "meeting_date-year": "2099",
            "family": "Family B",
            "chair_name": "Rhian Pritchard",
            "rows-0-agency": "Greenfield High School",
            "rows-0-reason": "non-attendance",
        },
    )
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    summary = [a.get_text(strip=True) for a in soup.select(".govuk-error-summary a")]
    assert summary == ["Date of meeting must be today or in the past"]
    assert soup.select_one("#meeting_date-day-error") is not None


def test_an_answer_too_long_is_not_called_missing(ws_app):
    """The validators say "Length must be between 1 and 120." both for nothing and for too much;
    given an answer, the chair is told the most it may be, not to enter it."""
    chair, csrf = _chair(ws_app)
    response = chair.post(
        "/workspace/conference/new?partnership=kirklees",
        data={
            "csrf_token": csrf,
            "meeting_date-day": "5",
            "meeting_date-month": "11",
            "meeting_date-year": "2026",
            "family": "F" * 121,
            "chair_name": "Rhian Pritchard",
            "rows-0-agency": "Greenfield High School",
            "rows-0-reason": "non-attendance",
            "rows-0-agency_rep": "R" * 201,
        },
    )
    assert response.status_code == 400
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    summary = {a.get_text(strip=True): a["href"] for a in soup.select(".govuk-error-summary a")}
    assert summary == {
        "Family name or identifying factors: enter at most 120 characters": "#family",
        "Row 1, name of agency rep: enter at most 200 characters": "#rows-0-agency_rep",
    }

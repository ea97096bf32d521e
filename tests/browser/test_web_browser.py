"""Every form of every partnership filled in a real browser (Debian's chromium), end to end, with
axe-core run on every page; validation errors shown and announced; the journey without JavaScript."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

import parsers
from forms import registry
from forms.schema import validate_data
from service.web import formbuild
from service.web.fields import sentence_case
from tests.browser.conftest import chair_signed_in, serious_violations
from tests.conftest import ALL_FORMS, sample

REGISTRY = registry()


def accessible(page) -> None:
    problems = serious_violations(page)
    assert problems == [], f"{page.url}: {problems}"


def choose(page, label: str) -> None:
    page.get_by_label(label, exact=True).check()
    press(page, "Continue")


def press(page, button: str) -> None:
    """Click a button that loads a page, and wait until it has loaded: Playwright's click waits only
    for the page to start loading, so an assertion that looks once could read it half parsed."""
    page.get_by_role("button", name=button).click()
    page.wait_for_load_state()


def fill_field(page, spec_field, name: str, value) -> None:
    if spec_field.type in ("text", "textarea"):
        page.fill(f"[name='{name}']", value or "")
    elif spec_field.type == "date":
        parts = formbuild.date_parts(value)
        for part in formbuild.DATE_PARTS:
            page.fill(f"[name='{name}-{part}']", parts[part])
    elif spec_field.type == "choice":
        if value:
            page.check(f"input[name='{name}'][value='{value}']")
    elif spec_field.type == "ticks":
        for tick in value:
            page.check(f"input[name='{name}'][value='{tick}']")
    elif spec_field.type == "rows":
        for _ in range(len(value) - 1):
            page.get_by_role("button", name="Add another").click()
        for i, row in enumerate(value):
            for column in spec_field.columns:
                fill_field(page, column, f"{name}-{i}-{column.key}", row.get(column.key))


def read_download(page, selector: str) -> bytes:
    with page.expect_download() as info:
        page.click(selector)
    return Path(info.value.path()).read_bytes()


@pytest.mark.parametrize("form_id", ALL_FORMS)
def test_every_form_end_to_end_with_axe(page, live_server, form_id):
    spec = REGISTRY.form(form_id)
    pack = REGISTRY.pack(spec.partnership)
    data = sample(form_id)
    expected = validate_data(spec, data)

    if spec.process == "cp-conference":  # sent by a signed-in chair or business unit only
        chair_signed_in(page, live_server)
    page.goto(live_server + "/")
    accessible(page)
    choose(page, pack.name)
    expect(page.locator(".govuk-service-navigation__service-name")).to_have_text(pack.name)
    expect(page.locator("#immediate-risk")).to_be_visible()
    accessible(page)
    press(page, "Start now")
    accessible(page)
    choose(page, f"Complete the {spec.short_title}")

    for section in spec.sections:
        expect(page.locator("h1")).to_have_text(sentence_case(section.title))  # capitals on the appendix
        accessible(page)
        for f in section.fields:
            fill_field(page, f, f.key, data.get(f.key))
        press(page, "Continue")
        assert page.locator(".govuk-error-summary").count() == 0, page.locator(".govuk-error-summary").inner_text()

    expect(page.locator("h1")).to_have_text("Check your answers before sending")
    accessible(page)
    # The completed form downloads from here (its contents and the PDF are checked in test_web_views);
    # the record checked below is the same render of the same answers.
    assert page.locator("#download-docx").get_attribute("href").endswith("/download.docx")
    assert page.locator("#download-pdf").get_attribute("href").endswith("/download.pdf")

    page.click("#send")
    if spec.process == "cp-conference":  # each row its own case in the chair's log, no tracking link
        expect(page.locator("#rows tbody tr")).to_have_count(len(data["rows"]))
        accessible(page)
        return
    reference = page.locator("#reference").inner_text().strip()
    assert reference.startswith(f"{pack.reference_prefix}-")
    accessible(page)
    record = read_download(page, "a[href$='record.docx']")
    assert parsers.parse(record, "record.docx", form_id=form_id).canonical(spec) == (expected, {})
    page.click("#tracking-link")
    assert reference in page.locator("h1").inner_text()
    accessible(page)


def test_validation_errors_are_shown_and_announced(page, live_server):
    page.goto(live_server + "/p/merton/start")
    choose(page, "Complete the " + REGISTRY.form("merton-disagreement-record").short_title)
    press(page, "Continue")
    expect(page).to_have_title(re.compile(r"^Error: "))
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary.locator("[role=alert]")).to_have_count(1)
    # GOV.UK Frontend moves focus to the summary, so screen readers announce it at once. Its script
    # runs once the page has loaded, so wait for that (up to 5 s) rather than look once, too early.
    page.wait_for_function("() => document.activeElement.classList.contains('govuk-error-summary')", timeout=5000)
    first = summary.locator("a").first
    assert first.inner_text().startswith("Enter ")
    first.click()
    assert page.evaluate("() => document.activeElement.id") == first.get_attribute("href").lstrip("#")
    accessible(page)
    page.goto(live_server + "/")
    press(page, "Continue")
    expect(page.locator(".govuk-error-summary a")).to_have_text("Select the partnership")
    accessible(page)


def test_character_count_and_draft_saving(page, live_server):
    page.goto(live_server + "/p/north-tyneside/start")
    choose(page, "Raise a new escalation at stage 3: " + REGISTRY.pack("north-tyneside").stage("3").name)
    page.fill("[name=name]", "Priya Example")
    press(page, "Save and come back later")
    link = page.locator("#draft-link").get_attribute("href")
    accessible(page)
    page.goto(link)
    assert page.locator("[name=name]").input_value() == "Priya Example"
    url = page.url.rsplit("/", 1)[0] + "/worry"
    page.goto(url)
    page.fill("[name=worry]", "x" * 3990)
    page.locator("[name=worry]").press("End")
    counter = page.locator(".govuk-character-count:has([name=worry]) .govuk-character-count__status")
    counter.wait_for()
    assert "10 characters remaining" in counter.inner_text()
    accessible(page)


def test_the_journey_works_without_javascript(page_without_js, live_server):
    page = page_without_js
    spec = REGISTRY.form("kirklees-appendix-3")
    data = sample(spec.id)
    chair_signed_in(page, live_server)  # a conference escalation is sent by a signed-in chair
    page.goto(live_server + "/")
    choose(page, REGISTRY.pack("kirklees").name)
    press(page, "Start now")
    choose(page, f"Complete the {spec.short_title}")
    for section in spec.sections:
        for f in section.fields:
            fill_field(page, f, f.key, data.get(f.key))
        press(page, "Continue")
    expect(page.locator("h1")).to_have_text("Check your answers before sending")
    expect(page.locator(".govuk-summary-list__row")).to_have_count(len(spec.fields))
    page.click("#send")
    prefix = REGISTRY.pack("kirklees").reference_prefix
    rows = page.locator("#rows tbody tr")
    expect(rows).to_have_count(len(data["rows"]))  # each agency's row its own case in the conference log
    assert rows.first.locator("th").inner_text().startswith(f"{prefix}-")


def test_stage_update_from_the_tracking_link(page, live_server):
    spec = REGISTRY.form("nt-appendix-a")
    data = sample(spec.id)
    page.goto(live_server + "/p/north-tyneside/start")
    choose(page, "Raise a new escalation at stage 3: " + REGISTRY.pack("north-tyneside").stage("3").name)
    for section in spec.sections:
        for f in section.fields:
            if f.type != "choice" or f.key != "stage":
                fill_field(page, f, f.key, data.get(f.key))
        press(page, "Continue")
    page.click("#send")
    page.click("#tracking-link")
    tracking = page.url
    press(page, f"Update with the {spec.short_title}")
    page.goto(page.url.rsplit("/", 1)[0] + "/escalation")
    assert page.locator("input[name=stage][value='4']").is_checked()
    press(page, "Continue")
    if "/s/" in page.url:  # the service's questions come last in Appendix A: Continue may already reach the check
        page.goto(page.url.rsplit("/s/", 1)[0] + "/check")
    page.click("#send")
    expect(page.locator("h1").first).to_have_text("Stage update sent")
    accessible(page)
    page.goto(tracking)
    assert page.locator("#stages tbody tr").count() == 4  # stages 1 and 2 before this record, 3 and 4


def test_lost_link_page_with_axe(page, live_server):
    """The "lost your link?" page from the start page: errors named and linked, then the one answer."""
    page.goto(live_server + "/")
    page.get_by_role("link", name="Lost your link?").click()
    page.wait_for_load_state()
    accessible(page)
    press(page, "Send me a new link")
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Enter the case reference")
    expect(summary).to_contain_text("Enter the e-mail address you gave on the form")
    accessible(page)
    page.fill("[name=reference]", "NT-2026-9999")
    page.fill("[name=email]", "someone@elsewhere.example")
    press(page, "Send me a new link")
    expect(page.locator("#answer")).to_contain_text("If the reference and the e-mail address match")
    accessible(page)

"""A scan or photo read by OCR is never applied unseen: it waits, its answers prefilled, for a
person to confirm (issue 16); confirmed, it opens the case as any other return."""

from __future__ import annotations

import shutil

import pytest

from forms import registry
from forms.schema import validate_data
from service.documents.records import render
from service.intake import ingest, review
from service.intake.models import ReceivedItem
from tests.conftest import sample
from tests.parsers.scans import CLEAN, scanned

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None, reason="Tesseract is not installed")


def test_a_scanned_form_waits_prefilled_for_a_person_to_confirm(db_session):
    spec = registry().form("sscp-outcome-resolution-notice")
    content = scanned(render(spec, sample(spec.id), "pdf"), CLEAN, "png")
    outcome = ingest.ingest(db_session, content, channel="upload", filename="scan.png")
    assert outcome.status == "quarantined" and outcome.reference is None
    assert outcome.reason.startswith("read from a scan or photo by OCR")
    item = db_session.get(ReceivedItem, outcome.item_id)
    assert item.raw == content and item.form_id == spec.id
    assert item.parsed["confirm"] and item.parsed["data"]["name"] == "Grace Okonkwo"
    assert item.parsed["fields"]["name"]["confidence"] > 80
    assert item in review.for_review(db_session)

    # Reading it again (the form chosen) still waits: only a person's confirmed answers apply it.
    again = review.reprocess(db_session, item.id, actor="reviewer@bu.example", form_id=spec.id)
    assert again.status == "quarantined"

    confirmed = validate_data(spec, {**item.parsed["data"]})
    done = review.reprocess(db_session, item.id, actor="reviewer@bu.example", data=confirmed)
    assert done.status == "accepted", done.reason
    assert done.reference.startswith(registry().pack("sscp").reference_prefix + "-")


def test_an_iphone_photo_in_heic_waits_prefilled_as_any_scan(db_session):
    spec = registry().form("sscp-outcome-resolution-notice")
    content = scanned(render(spec, sample(spec.id), "pdf"), CLEAN, "heic")
    outcome = ingest.ingest(db_session, content, channel="upload", filename="IMG_0001.HEIC")
    assert outcome.status == "quarantined" and outcome.reference is None
    assert outcome.reason.startswith("read from a scan or photo by OCR"), outcome.reason
    item = db_session.get(ReceivedItem, outcome.item_id)
    assert item.raw == content and item.form_id == spec.id
    assert item.parsed["confirm"] and item.parsed["data"]["name"] == "Grace Okonkwo"
    assert item in review.for_review(db_session)

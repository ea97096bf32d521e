"""Uploaded files are only ever served as downloads with a safe content type, whatever they claim."""

from __future__ import annotations

import pytest

from tests.workspace.support import signed_in, submit_sample, ws_app_fixture  # noqa: F401 - fixtures

HOSTILE = [
    ("../../evil.html", "text/html", "application/octet-stream"),
    ("report.svg", "image/svg+xml", "application/octet-stream"),
    ("form.pdf", "text/html", "application/pdf"),
    (
        "C:\\Users\\x\\returned.docx",
        "text/html",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    (None, "text/html", "application/octet-stream"),
]


@pytest.mark.parametrize(("filename", "claimed", "served"), HOSTILE)
def test_an_upload_is_served_as_an_attachment_with_a_safe_type(ws_app, filename, claimed, served):
    raw = b"<html><script>alert(document.cookie)</script></html>"
    made = submit_sample(
        ws_app, "kirklees-appendix-5", raw=raw, filename=filename, content_type=claimed, channel="upload"
    )
    client = signed_in(ws_app)
    response = client.get(f"/workspace/cases/{made.reference}/submissions/{made.submission_id}/original")
    assert response.status_code == 200 and response.data == raw  # byte for byte
    assert response.mimetype == served
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "/" not in disposition and "\\" not in disposition and ".." not in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"

"""Any text, posted to any field of the API and of every form page, never gets a 500: NUL, control
characters, lone surrogates, private-use characters with line breaks, very long values. Hypothesis
draws the text (the suite's profile draws the same examples on every run); on SQLite and
PostgreSQL."""

from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import create_app
from forms import registry
from service.casework import directory
from service.db import sessions
from service.web import drafts
from service.web.answers import web_answers_from_canonical
from tests.conftest import ALL_FORMS, sample
from tests.web.test_web_views import section_post
from tests.workspace.support import csrf_from, make_user, sign_in

SPECIAL = [
    "\x00",
    "a\x00b",
    "\x07bell",
    "\r\n",
    "\ue000\nprivate",
    "\ud800",
    "x\udfffy",
    "\u202eoverride",
    "=1+1",
    "M" * 50_000,
    "Zoë\u0301",
    "\ufeff",
]
TEXT = st.one_of(
    st.sampled_from(SPECIAL),
    st.text(st.characters(codec=None), max_size=400),
    st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3),
    st.text(st.characters(max_codepoint=0x1F), max_size=20),
)
TEXT_FIELDS = [
    (form_id, f.key) for form_id in ALL_FORMS for f in registry().form(form_id).fields if f.type in ("text", "textarea")
]
FORMS = [(form_id, section.key) for form_id in ALL_FORMS for section in registry().form(form_id).sections]
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def text_app(db_engine):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_ENGINE": db_engine,
            "RATELIMIT_ENABLED": False,
            "ARGON2_MEMORY_KIB": 1024,
            "ARGON2_TIME_COST": 1,
        }
    )
    with sessions(app)() as session:
        directory.seed(session)
    make_user(app, "admin@council.example", "admin", None)  # reaches every partnership's cases
    return app


@PROPERTY
@given(
    field=st.sampled_from(TEXT_FIELDS), value=TEXT, where=st.sampled_from(["data", "form_id", "tracking_token", "key"])
)
def test_any_text_in_any_api_field(text_app, field, value, where):
    client = text_app.test_client()
    assert sign_in(client, "admin@council.example").status_code == 302
    form_id, key = field
    body = {"form_id": form_id, "data": {**sample(form_id), key: value}}
    if where == "key":
        body["data"] = {**sample(form_id), value: "x"}
    elif where != "data":
        body[where] = value
    answer = client.post("/api/submissions", json=body)
    assert answer.status_code < 500, answer.get_data(as_text=True)[:500]
    if answer.status_code == 201:
        reference = answer.json["reference"]
        for path, payload in (
            (f"/api/cases/{reference}/stage", {"stage": value, "outcome": value}),
            (f"/api/cases/{reference}/outcome", {"outcome": value, "learning": value}),
        ):
            assert client.post(path, json=payload).status_code < 500
        assert client.get(f"/api/cases/{reference}").status_code == 200
        assert client.get(f"/workspace/cases/{reference}").status_code == 200
        assert client.get("/workspace/export.xlsx").status_code < 500
    assert client.get(f"/api/track/{quote(value[:200].encode('utf-8', 'surrogatepass'))}").status_code < 500


@PROPERTY
@given(page=st.sampled_from(FORMS), value=TEXT)
def test_any_text_on_any_form_page(text_app, page, value):
    form_id, section_key = page
    spec = registry().form(form_id)
    section = next(s for s in spec.sections if s.key == section_key)
    client = text_app.test_client()
    assert sign_in(client, "admin@council.example").status_code == 302
    with sessions(text_app)() as session:
        token, _ = drafts.create(
            session,
            partnership=spec.partnership,
            form_id=spec.id,
            answers=web_answers_from_canonical(spec, sample(spec.id)),
        )
    answers = {**web_answers_from_canonical(spec, sample(spec.id))}
    for f in section.fields:
        if f.type in ("text", "textarea"):
            answers[f.key] = value
        elif f.type == "rows":
            answers[f.key] = [{c.key: value for c in f.columns if c.type in ("text", "textarea")}]
    url = f"/d/{token}/s/{section.key}"
    csrf = csrf_from(client.get(url).get_data(as_text=True))
    # As bytes, the way a client that sends broken UTF-8 would (the test client refuses lone surrogates).
    body = urlencode(list(section_post(section, answers, csrf).items(multi=True)), errors="surrogatepass")
    posted = client.post(url, data=body, content_type="application/x-www-form-urlencoded")
    assert posted.status_code < 500
    for path in (url, f"/d/{token}/check"):
        assert client.get(path).status_code < 500
    assert client.post(f"/d/{token}/submit", data={"csrf_token": csrf}).status_code < 500

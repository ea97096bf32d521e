"""schemathesis against /api/openapi.json: for generated requests to every operation, no 5xx and
every response (status, content type, body) as the document says, anonymous and signed in.

The app runs on a SQLite database with the sample directory and a few cases, so references and
tracking tokens that exist are reachable through the document's examples and generated values.
"""

from __future__ import annotations

from importlib.metadata import version

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app import create_app
from service import db
from service.casework import directory
from service.casework.models import Base
from tests.workspace.support import WS_CONFIG, make_user, sign_in, submit_sample


def _app(tmp_path_factory):
    path = tmp_path_factory.mktemp("schemathesis") / "api.sqlite3"
    engine = db.make_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    app = create_app({**WS_CONFIG, "DATABASE_ENGINE": engine, "RATELIMIT_ENABLED": False})
    with db.sessions(app)() as session:
        directory.seed(session)
    for form_id in ("nt-appendix-a", "kirklees-appendix-5", "merton-disagreement-record"):
        submit_sample(app, form_id)
    make_user(app, "admin@escalate.example", "admin", None)
    return app


@pytest.fixture(scope="module")
def api_app(tmp_path_factory):
    return _app(tmp_path_factory)


@pytest.fixture(scope="module")
def staff_app(api_app):
    """The same app, every request carrying a signed-in admin's session cookie.

    Werkzeug's test client (which schemathesis drives) replaces a Cookie header with its own jar,
    so the cookie is put into each request's environ instead, as a browser's would arrive."""
    client = api_app.test_client()
    assert sign_in(client, "admin@escalate.example").status_code == 302
    cookie = f"session={client.get_cookie('session').value}"
    inner = api_app.wsgi_app

    def with_cookie(environ, start_response):
        environ["HTTP_COOKIE"] = cookie
        # Flask-Login's "strong" protection ties the session to the address and browser that signed in.
        environ["HTTP_USER_AGENT"] = f"Werkzeug/{werkzeug_version}"
        environ["REMOTE_ADDR"] = "127.0.0.1"
        return inner(environ, start_response)

    api_app.wsgi_app = with_cookie
    yield api_app
    api_app.wsgi_app = inner


werkzeug_version = version("werkzeug")


def _schema(app):
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


def _operations() -> list[str]:
    app = create_app({**WS_CONFIG, "DATABASE_URL": "sqlite://", "RATELIMIT_ENABLED": False})
    return sorted(op.ok().label for op in _schema(app).get_all_operations())


SETTINGS = settings(
    max_examples=15,
    deadline=None,
    database=None,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=list(HealthCheck),
)


def _run(app, label: str) -> None:
    # schemathesis' pytest plugin does not run on this pytest; its strategies and checks are used directly.
    [operation] = [op.ok() for op in _schema(app).get_all_operations() if op.ok().label == label]

    @SETTINGS
    @given(case=operation.as_strategy())
    def check(case):
        # positive_data_acceptance is left out: `data` is any object in the schema, checked per form by the service.
        case.call_and_validate(excluded_checks=[positive_data_acceptance])

    check()


OPERATIONS = _operations()


def test_every_operation_is_covered():
    assert len(OPERATIONS) >= 8 and "POST /api/submissions" in OPERATIONS


@pytest.mark.parametrize("label", OPERATIONS)
def test_api_anonymous(api_app, label):
    _run(api_app, label)


@pytest.mark.parametrize("label", OPERATIONS)
def test_api_signed_in(staff_app, label):
    _run(staff_app, label)

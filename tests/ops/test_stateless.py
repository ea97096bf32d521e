"""App processes keep no local state: two app servers on one database serve one journey, and a whole
journey writes no file outside the database (checked with a Python audit hook on every open)."""

from __future__ import annotations

import os
import sys

import pytest

from app import create_app
from forms import registry
from service import db
from service.casework import directory
from service.casework.models import Base
from service.web import formbuild
from tests.conftest import sample
from tests.web.test_web_views import csrf, fill, soup
from tests.workspace.support import WS_CONFIG, make_user, sign_in

REGISTRY = registry()
SECRET = "shared-secret-key-of-every-app-server-0123456789"


class Writes:
    """Files opened for writing by this process while `on` (sys.addaudithook cannot be removed, so it is switched)."""

    def __init__(self):
        self.on = False
        self.paths: list[str] = []

    def __call__(self, event, args):
        if not self.on:
            return
        if event == "open":
            path, mode, flags = args
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
            )
            if writing and path is not None:
                self.paths.append(str(path))
        elif event in ("os.mkdir", "os.rename", "os.remove", "shutil.copyfile", "os.symlink"):
            self.paths.append(f"{event}: {args[0]}")


WRITES = Writes()
sys.addaudithook(WRITES)


@pytest.fixture
def two_servers(tmp_path):
    """Two app instances ("servers") sharing one database file and one SECRET_KEY, nothing else."""
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    engine = db.make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    servers = [create_app({**WS_CONFIG, "SECRET_KEY": SECRET, "DATABASE_URL": url}) for _ in range(2)]
    with db.sessions(servers[0])() as session:
        directory.seed(session)
    yield servers
    for app in servers:
        db.engine(app).dispose()


def _move_cookies(source, target) -> None:
    for cookie in source._cookies.values():
        target.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)


def test_a_journey_and_a_staff_session_continue_on_another_server(two_servers):
    a, b = (app.test_client() for app in two_servers)
    spec = REGISTRY.form("nt-appendix-a")
    check = fill(a, spec.id, formbuild.web_answers_from_canonical(spec, sample(spec.id)))
    _move_cookies(a, b)
    page = soup(b.get(check))  # the draft and the session's CSRF secret are read on the other server
    response = b.post(check.replace("/check", "/submit"), data={"csrf_token": csrf(page)})
    assert response.status_code == 302 and "/t/" in response.location
    assert a.get(response.location).status_code == 200

    make_user(two_servers[0], "bu@ntscp.example", "business-unit", "north-tyneside")
    staff_a, staff_b = two_servers[0].test_client(), two_servers[1].test_client()
    assert sign_in(staff_a, "bu@ntscp.example").status_code == 302
    _move_cookies(staff_a, staff_b)
    assert staff_b.get("/workspace/inbox").status_code == 200


def test_a_session_signed_with_another_key_is_not_accepted(two_servers, tmp_path):
    make_user(two_servers[0], "bu@ntscp.example", "business-unit", "north-tyneside")
    staff = two_servers[0].test_client()
    assert sign_in(staff, "bu@ntscp.example").status_code == 302
    other = create_app({**WS_CONFIG, "SECRET_KEY": "another-key", "DATABASE_URL": db.database_url(two_servers[0])})
    intruder = other.test_client()
    _move_cookies(staff, intruder)
    response = intruder.get("/workspace/inbox")
    assert response.status_code == 302 and "/workspace/sign-in" in response.location  # sent to sign in


def test_a_whole_journey_writes_no_file(two_servers, tmp_path):
    app = two_servers[0]
    client = app.test_client()
    client.get("/")  # first request: lazy imports and template compilation are not state
    WRITES.paths.clear()
    WRITES.on = True
    try:
        for form_id in ("kirklees-appendix-5", "merton-disagreement-record"):
            spec = REGISTRY.form(form_id)
            check = fill(client, form_id, formbuild.web_answers_from_canonical(spec, sample(form_id)))
            page = soup(client.get(check))
            assert client.get(check.replace("/check", "/download.pdf")).status_code == 200
            response = client.post(check.replace("/check", "/submit"), data={"csrf_token": csrf(page)})
            assert response.status_code == 302
            record = client.get(response.location.replace("/confirmation", "/record.docx"))
            assert record.status_code == 200
        make_user(app, "bu@kirklees.example", "business-unit", "kirklees")
        staff = app.test_client()
        assert sign_in(staff, "bu@kirklees.example").status_code == 302
        assert staff.get("/workspace/inbox").status_code == 200
    finally:
        WRITES.on = False
    # SQLite writes its file in C (no audit event): anything seen here would be a file of the app's own.
    stray = [p for p in WRITES.paths if not p.startswith(("/dev/", str(tmp_path)))]
    assert stray == [], f"the app wrote local files: {stray[:5]}"

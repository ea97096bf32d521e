"""Staff accounts: argon2id hashes, sign-in, lockout, TOTP, inactivity timeout, sign-out, cookies, CLI."""

from __future__ import annotations

import datetime as dt

import pyotp
from sqlalchemy import select, update

from service.casework.staff import SignInAttempt, StaffSession, User
from service.db import sessions
from service.workspace import auth
from tests.workspace.support import PASSWORD, make_user, sign_in, ws_app_fixture, ws_session_fixture  # noqa: F401


def test_passwords_are_argon2id_with_a_memory_hard_cost(ws_app, ws_session):
    # The service's own cost (outside the tests' lighter setting): 64 MiB and 3 passes per hash.
    default = auth.hash_password(PASSWORD)
    assert default.startswith("$argon2id$") and "m=65536,t=3" in default
    make_user(ws_app, "bu@kirklees.example", "business-unit", "kirklees")
    user = ws_session.scalar(select(User))
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_sign_in_then_the_inbox(ws_app):
    make_user(ws_app, "bu@kirklees.example", "business-unit", "kirklees")
    client = ws_app.test_client()
    assert client.get("/workspace/inbox").status_code == 302
    response = sign_in(client, "BU@kirklees.example ")
    assert response.status_code == 302 and response.headers["Location"].endswith("/workspace/inbox")
    assert client.get("/workspace/inbox").status_code == 200


def test_wrong_password_is_refused_in_general_terms(ws_app, ws_session):
    make_user(ws_app, "bu@kirklees.example", "business-unit", "kirklees")
    client = ws_app.test_client()
    wrong = sign_in(client, "bu@kirklees.example", "not the password")
    unknown = sign_in(client, "nobody@kirklees.example", "not the password")
    for response in (wrong, unknown):
        assert response.status_code == 400
        assert "Enter a correct e-mail address and password" in response.get_data(as_text=True)
    attempts = ws_session.scalars(select(SignInAttempt).order_by(SignInAttempt.id)).all()
    assert [(a.email, a.succeeded, a.reason) for a in attempts] == [
        ("bu@kirklees.example", False, "bad-credentials"),
        ("nobody@kirklees.example", False, "bad-credentials"),
    ]


def test_lockout_after_repeated_failures_even_with_the_right_password(ws_app, ws_session):
    make_user(ws_app, "bu@kirklees.example", "business-unit", "kirklees")
    client = ws_app.test_client()
    for _ in range(auth.LOCKOUT_FAILURES):
        assert sign_in(client, "bu@kirklees.example", "wrong password!").status_code == 400
    response = sign_in(client, "bu@kirklees.example")
    assert response.status_code == 400
    assert "locked" in response.get_data(as_text=True)
    assert client.get("/workspace/inbox").status_code == 302
    # Once the lock has passed, the right password works again.
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    ws_session.execute(update(User).values(locked_until=past))
    ws_session.commit()
    assert sign_in(client, "bu@kirklees.example").status_code == 302


def test_totp_second_factor(ws_app):
    secret = pyotp.random_base32()
    make_user(ws_app, "chair@merton.example", "conference-chair", "merton", totp_secret=secret)
    client = ws_app.test_client()
    missing = sign_in(client, "chair@merton.example")
    assert missing.status_code == 400 and "6-digit code" in missing.get_data(as_text=True)
    assert sign_in(client, "chair@merton.example", code="000000").status_code == 400
    assert sign_in(client, "chair@merton.example", code=pyotp.TOTP(secret).now()).status_code == 302
    assert client.get("/workspace/inbox").status_code == 200


def test_setting_up_totp_keeps_the_secret_only_after_a_good_code(ws_app, ws_session):
    make_user(ws_app, "bu@kirklees.example", "business-unit", "kirklees")
    client = ws_app.test_client()
    sign_in(client, "bu@kirklees.example")
    page = client.get("/workspace/account/two-factor").get_data(as_text=True)
    from tests.workspace.support import csrf_from

    with client.session_transaction() as flask_session:
        secret = flask_session["totp_setup"]
    assert secret in page
    bad = client.post("/workspace/account/two-factor", data={"code": "123456", "csrf_token": csrf_from(page)})
    assert bad.status_code == 200 and ws_session.scalar(select(User.totp_secret)) is None
    good = client.post(
        "/workspace/account/two-factor", data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_from(page)}
    )
    assert good.status_code == 302
    ws_session.expire_all()
    assert ws_session.scalar(select(User.totp_secret)) == secret


def test_inactivity_timeout_ends_the_session(ws_app, ws_session):
    make_user(ws_app, "bu@kirklees.example", "business-unit", "kirklees")
    client = ws_app.test_client()
    sign_in(client, "bu@kirklees.example")
    assert client.get("/workspace/inbox").status_code == 200
    idle = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=auth.IDLE_MINUTES + 1)
    ws_session.execute(update(StaffSession).values(last_seen_at=idle))
    ws_session.commit()
    assert client.get("/workspace/inbox").status_code == 302
    ws_session.expire_all()
    assert ws_session.scalar(select(StaffSession.ended_at)) is not None


def test_sign_out_ends_the_session_on_the_server(ws_app):
    make_user(ws_app, "bu@kirklees.example", "business-unit", "kirklees")
    client = ws_app.test_client()
    sign_in(client, "bu@kirklees.example")
    copied = client.get_cookie("session").value
    page = client.get("/workspace/inbox").get_data(as_text=True)
    from tests.workspace.support import csrf_from

    assert client.post("/workspace/sign-out", data={"csrf_token": csrf_from(page)}).status_code == 302
    assert client.get("/workspace/inbox").status_code == 302
    # A copy of the signed-in cookie taken before signing out no longer works either.
    other = ws_app.test_client()
    other.set_cookie("session", copied)
    assert other.get("/workspace/inbox").status_code == 302


def test_cookie_flags(db_engine):
    from app import create_app

    app = create_app({"SECRET_KEY": "x", "DATABASE_ENGINE": db_engine, "COOKIE_SECURE": True})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    with sessions(app)() as session:
        session.commit()
    response = app.test_client().get("/workspace/sign-in", base_url="https://localhost")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_cookies_are_secure_unless_testing_or_switched_off(db_engine, monkeypatch):
    from app import create_app

    assert create_app({"SECRET_KEY": "x", "DATABASE_ENGINE": db_engine}).config["SESSION_COOKIE_SECURE"] is True
    monkeypatch.setenv("COOKIE_SECURE", "0")
    assert create_app({"SECRET_KEY": "x", "DATABASE_ENGINE": db_engine}).config["SESSION_COOKIE_SECURE"] is False


def test_next_never_leaves_the_workspace(ws_app):
    make_user(ws_app, "bu@kirklees.example", "business-unit", "kirklees")
    client = ws_app.test_client()
    page = client.get("/workspace/sign-in").get_data(as_text=True)
    from tests.workspace.support import csrf_from

    for target in ("https://evil.example/", "//evil.example/x", "/api/cases"):
        response = client.post(
            f"/workspace/sign-in?next={target}",
            data={"email": "bu@kirklees.example", "password": PASSWORD, "csrf_token": csrf_from(page)},
        )
        assert response.headers["Location"] == "/workspace/inbox"
        page = client.get("/workspace/sign-in").get_data(as_text=True)


def test_users_create_command_makes_the_first_admin(ws_app, ws_session):
    runner = ws_app.test_cli_runner()
    result = runner.invoke(
        args=["users", "create", "--email", "admin@escalate.example", "--role", "admin", "--password", PASSWORD]
    )
    assert result.exit_code == 0, result.output
    assert "across every partnership" in result.output
    user = ws_session.scalar(select(User))
    assert [(m.partnership, m.role) for m in user.memberships] == [(None, "admin")]
    listed = runner.invoke(args=["users", "list"])
    assert "admin@escalate.example" in listed.output


def test_users_create_names_what_is_wrong(ws_app):
    runner = ws_app.test_cli_runner()
    cases = [
        (["--role", "business-unit"], "belongs to one partnership"),
        (["--role", "business-unit", "--partnership", "atlantis"], "partnership: 'atlantis' is not one of"),
        (["--role", "admin", "--password", "short"], "at least 12 characters"),
    ]
    for extra, message in cases:
        args = ["users", "create", "--email", "x@escalate.example", *extra]
        if "--password" not in extra:
            args += ["--password", PASSWORD]
        result = runner.invoke(args=args)
        assert result.exit_code != 0 and message in result.output, result.output
    bad_role = runner.invoke(
        args=["users", "create", "--email", "x@e.example", "--role", "boss", "--password", PASSWORD]
    )
    assert bad_role.exit_code != 0 and "boss" in bad_role.output


def test_demo_accounts_sign_in_to_their_work(ws_app):
    """`workspace demo` (run by `make run`) gives each partnership a business unit, and a conference
    chair where the policy has a conference escalation form, each able to open their pages."""
    from service.workspace.cli import DEMO_PASSWORD

    result = ws_app.test_cli_runner().invoke(args=["workspace", "demo"])
    assert result.exit_code == 0, result.output
    assert "DEMO DATA ONLY" in result.output
    assert "conference-chair@kirklees.example" in result.output
    for email, page, shows in (
        ("business-unit@merton.example", "/workspace/inbox", "MSCB"),
        ("conference-chair@kirklees.example", "/workspace/conference", "Greenfield High School"),
    ):
        client = ws_app.test_client()
        assert sign_in(client, email, DEMO_PASSWORD).status_code == 302
        response = client.get(page)
        assert response.status_code == 200 and shows in response.get_data(as_text=True), email


def test_locked_unknown_and_wrong_get_the_same_answer(ws_app):
    """The page never tells which addresses have accounts: a locked account answers as an unknown one."""
    from bs4 import BeautifulSoup

    make_user(ws_app, "bu@kirklees.example", "business-unit", "kirklees")
    client = ws_app.test_client()
    for _ in range(auth.LOCKOUT_FAILURES):
        sign_in(client, "bu@kirklees.example", "wrong password!")

    def answer(email, password):
        response = sign_in(client, email, password)
        page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
        return response.status_code, page.select_one(".govuk-error-summary").get_text(" ", strip=True)

    locked = answer("bu@kirklees.example", PASSWORD)
    unknown = answer("nobody@kirklees.example", PASSWORD)
    wrong = answer("bu@kirklees.example", "wrong password!")
    assert locked == unknown == wrong
    assert locked[0] == 400


def test_a_next_with_line_breaks_or_controls_goes_to_the_inbox(ws_app):
    from tests.workspace.support import csrf_from

    make_user(ws_app, "bu@kirklees.example", "business-unit", "kirklees")
    client = ws_app.test_client()
    for target in ("/workspace/cases%0d%0aSet-Cookie:%20x=1", "/workspace/%00inbox", "/workspace/\u2028x"):
        page = client.get("/workspace/sign-in").get_data(as_text=True)
        response = client.post(
            f"/workspace/sign-in?next={target}",
            data={"email": "bu@kirklees.example", "password": PASSWORD, "csrf_token": csrf_from(page)},
        )
        assert response.status_code == 302
        assert response.headers["Location"] == "/workspace/inbox"
        client.post(
            "/workspace/sign-out", data={"csrf_token": csrf_from(client.get("/workspace/inbox").get_data(as_text=True))}
        )

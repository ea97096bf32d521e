"""25 wrong passwords for one account at once: every attempt is recorded and every failure is counted
(one atomic UPDATE in the database, not a read-add-write in Python): the counter holds exactly the
failures recorded less those that locked the account, which ends locked, and the right password is then
refused. On SQLite and PostgreSQL; prints its FIGURE line."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import select

from app import create_app
from service.casework import directory
from service.casework.staff import SignInAttempt, User
from service.db import sessions
from service.workspace import auth
from tests.workspace.support import csrf_from, make_user, sign_in

ATTEMPTS = 25
EMAIL = "bu@kirklees.example"


@pytest.fixture
def ws_app(db_engine):
    """The workspace app with the per-address sign-in limit raised: the burst comes from one address."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_ENGINE": db_engine,
            "WTF_CSRF_ENABLED": True,
            "SIGN_IN_RATE_LIMIT": "1000 per minute",
            "ARGON2_MEMORY_KIB": 1024,
            "ARGON2_TIME_COST": 1,
        }
    )
    with sessions(app)() as session:
        directory.seed(session)
    return app


def test_25_concurrent_wrong_passwords_lock_the_account(ws_app, capsys):
    make_user(ws_app, EMAIL, "business-unit", "kirklees")
    barrier = threading.Barrier(ATTEMPTS)
    statuses: list[int] = []

    def attempt():
        client = ws_app.test_client()
        page = client.get("/workspace/sign-in").get_data(as_text=True)
        token = csrf_from(page)
        barrier.wait()
        response = client.post(
            "/workspace/sign-in", data={"email": EMAIL, "password": "wrong password!", "csrf_token": token}
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=attempt) for _ in range(ATTEMPTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    with sessions(ws_app)() as session:
        user = session.scalar(select(User).where(User.email == EMAIL))
        reasons = Counter(session.scalars(select(SignInAttempt.reason).where(SignInAttempt.email == EMAIL)))
        counted, failures = sum(reasons.values()), reasons["bad-credentials"]
        locked = user.locked_until is not None and user.locked_until > auth.now()
        left_over = user.failed_attempts
    right = sign_in(ws_app.test_client(), EMAIL)
    with capsys.disabled():
        print(
            f"\nFIGURE lockout race ({ws_app.extensions['db_engine'].dialect.name}): concurrent wrong passwords "
            f"{ATTEMPTS}, answered {len(statuses)} (5xx {sum(s >= 500 for s in statuses)}), attempts recorded "
            f"{counted}, account locked {'yes' if locked else 'no'}, right password then "
            f"{'refused' if right.status_code != 302 else 'signed in'}"
        )
    assert statuses == [400] * ATTEMPTS
    # Every attempt is recorded: a wrong password before the lock, or refused as locked after it.
    assert counted == ATTEMPTS and set(reasons) <= {"bad-credentials", "locked"}, reasons
    # Every wrong password reached the counter: each LOCKOUT_FAILURES-th locked and started it again, so
    # what is left is the remainder. A read-add-write in Python loses the failures that overlap, and the
    # counter then falls short of it.
    assert failures >= auth.LOCKOUT_FAILURES and left_over == failures % auth.LOCKOUT_FAILURES, (failures, left_over)
    assert locked
    assert right.status_code == 400

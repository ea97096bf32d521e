"""Staff accounts and access: argon2 passwords, optional TOTP, lockout, sessions and permissions.

- Passwords are hashed with argon2id (RFC 9106's low-memory profile: 64 MiB, 3 passes; memory-hard).
- After `LOCKOUT_FAILURES` failed sign-ins in a row the account is locked for `LOCKOUT_MINUTES`.
- The session cookie carries only a random `StaffSession` id made at sign-in (never the one the
  browser came with, so a planted session is useless), checked on every request against the
  server-side row: signing out ends it, and so does `IDLE_MINUTES` without a request.
- Every staff view is wrapped in `requires(permission)`; a case is read through `scope`, which only
  finds cases of the partnerships where the user holds that permission (another partnership's case
  is "not found", the same answer as a case that does not exist).
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, abort, current_app, has_app_context, request
from flask_login import LoginManager, UserMixin, current_user
from sqlalchemy import case, literal, or_, select, update
from sqlalchemy.orm import Session

from service import db
from service.casework.access import CONFERENCE_READERS_ONLY, Reach
from service.casework.staff import ROLES, Membership, SignInAttempt, StaffSession, User

LOCKOUT_FAILURES = 5
LOCKOUT_MINUTES = 15
IDLE_MINUTES = 30
# Write last_seen_at at most this often, so reading pages is not a write per request.
TOUCH_SECONDS = 60

_BUSINESS_UNIT = frozenset(
    {"account", "cases.read", "cases.note", "cases.write", "quarantine", "dashboard", "export", "directory", "report"}
)
PERMISSIONS: dict[str, frozenset[str]] = {
    "business-unit": _BUSINESS_UNIT,
    "conference-chair": frozenset({"account", "cases.read", "cases.note", "dashboard"}),
    "admin": _BUSINESS_UNIT | {"users"},
}
ALL_PERMISSIONS = frozenset().union(*PERMISSIONS.values())

# argon2id, RFC 9106's low-memory profile: 64 MiB and 3 passes per hash. ARGON2_MEMORY_KIB and
# ARGON2_TIME_COST may lower it only where speed matters more than cost to an attacker (the tests).
ARGON2_MEMORY_KIB = 65536
ARGON2_TIME_COST = 3


@functools.lru_cache(maxsize=4)
def _hashers(memory_kib: int, time_cost: int) -> tuple[PasswordHasher, str]:
    hasher = PasswordHasher(memory_cost=memory_kib, time_cost=time_cost, parallelism=4)
    # Verified against when the e-mail is unknown, so the answer takes as long as for a real account.
    return hasher, hasher.hash(secrets.token_urlsafe(16))


def _hasher_and_dummy() -> tuple[PasswordHasher, str]:
    config = current_app.config if has_app_context() else {}
    return _hashers(
        int(config.get("ARGON2_MEMORY_KIB", ARGON2_MEMORY_KIB)), int(config.get("ARGON2_TIME_COST", ARGON2_TIME_COST))
    )


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class AccountError(ValueError):
    """An account cannot be made as asked; the message names what is wrong."""


# --- passwords and accounts -------------------------------------------------------------------

MIN_PASSWORD = 12


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password: at least {MIN_PASSWORD} characters")
    return _hasher_and_dummy()[0].hash(password)


def create_user(
    session: Session,
    email: str,
    name: str,
    password: str,
    role: str,
    partnership: str | None,
    partnerships: set[str],
    totp_secret: str | None = None,
) -> User:
    """Make an account with one role; `partnership` None only for an admin across every partnership."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise AccountError(f"email: '{email}' is not an e-mail address")
    if role not in ROLES:
        raise AccountError(f"role: '{role}' is not one of {', '.join(ROLES)}")
    if partnership is None and role != "admin":
        raise AccountError(f"partnership: a {ROLES[role].lower()} belongs to one partnership")
    if partnership is not None and partnership not in partnerships:
        raise AccountError(f"partnership: '{partnership}' is not one of {', '.join(sorted(partnerships))}")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise AccountError(f"email: an account for {email} already exists")
    user = User(
        email=email,
        name=name.strip() or email,
        password_hash=hash_password(password),
        totp_secret=totp_secret,
        active=True,
        failed_attempts=0,
        created_at=now(),
    )
    user.memberships.append(Membership(partnership=partnership, role=role))
    session.add(user)
    session.flush()
    return user


def new_totp_secret() -> str:
    return pyotp.random_base32()


# --- signing in -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    """The answer to a sign-in attempt: the user, or why not (said to the person in general terms)."""

    user: User | None
    reason: str  # ok | bad-credentials | locked | totp-required | bad-totp | inactive


def authenticate(
    session: Session, email: str, password: str, totp_code: str | None = None, remote_addr: str | None = None
) -> SignIn:
    email = (email or "").strip().lower()[:254]
    moment = now()
    user = session.scalar(select(User).where(User.email == email))
    result = _check(user, password or "", (totp_code or "").strip(), moment)
    if user is not None:
        if result.reason == "ok":
            result = _succeeded(session, user, password, moment)
        elif result.reason in ("bad-credentials", "bad-totp"):
            _failed(session, user, moment)
    session.add(
        SignInAttempt(
            email=email, at=moment, succeeded=result.reason == "ok", reason=result.reason, remote_addr=remote_addr
        )
    )
    session.flush()
    return result


def _failed(session: Session, user: User, moment: dt.datetime) -> None:
    """Count a failure in one UPDATE (SET reads the row's values as they are when it is written), so
    concurrent failures all count; the one that reaches the limit locks the account and starts again."""
    reached = User.failed_attempts + 1 >= LOCKOUT_FAILURES
    until = moment + dt.timedelta(minutes=LOCKOUT_MINUTES)
    session.execute(
        update(User)
        .where(User.id == user.id)
        .values(
            failed_attempts=case((reached, 0), else_=User.failed_attempts + 1),
            locked_until=case((reached, literal(until, User.locked_until.type)), else_=User.locked_until),
        )
        .execution_options(synchronize_session=False)
    )
    session.expire(user)


def _succeeded(session: Session, user: User, password: str, moment: dt.datetime) -> SignIn:
    """Sign in only if no concurrent failure has locked the account meanwhile (checked in the UPDATE)."""
    changed = session.execute(
        update(User)
        .where(User.id == user.id, or_(User.locked_until.is_(None), User.locked_until <= moment))
        .values(failed_attempts=0, locked_until=None, last_sign_in_at=moment)
        .execution_options(synchronize_session=False)
    )
    session.expire(user)
    if changed.rowcount != 1:
        return SignIn(None, "locked")
    hasher = _hasher_and_dummy()[0]
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return SignIn(user, "ok")


def _check(user: User | None, password: str, totp_code: str, moment: dt.datetime) -> SignIn:
    if user is None:
        _verify(_hasher_and_dummy()[1], password)
        return SignIn(None, "bad-credentials")
    if user.locked_until is not None and user.locked_until > moment:
        _verify(_hasher_and_dummy()[1], password)  # as long as any other answer
        return SignIn(None, "locked")
    if not _verify(user.password_hash, password):
        return SignIn(None, "bad-credentials")
    if not user.active:
        return SignIn(None, "inactive")
    if user.totp_secret:
        if not totp_code:
            return SignIn(None, "totp-required")
        if not pyotp.TOTP(user.totp_secret).verify(totp_code, valid_window=1):
            return SignIn(None, "bad-totp")
    return SignIn(user, "ok")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher_and_dummy()[0].verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def start_session(session: Session, user: User) -> str:
    """A new random session id for this sign-in."""
    sid = secrets.token_urlsafe(32)
    moment = now()
    session.add(StaffSession(id=sid, user_id=user.id, created_at=moment, last_seen_at=moment))
    session.flush()
    return sid


def end_session(session: Session, sid: str) -> None:
    row = session.get(StaffSession, sid)
    if row is not None and row.ended_at is None:
        row.ended_at = now()


# --- who is signed in, and what they may do ---------------------------------------------------


class Staff(UserMixin):
    """The signed-in member of staff, as Flask-Login sees them: the id is the session's id."""

    def __init__(self, user: User, sid: str):
        self.user = user
        self.sid = sid
        self.email = user.email
        self.name = user.name
        self.roles = tuple((m.partnership, m.role) for m in user.memberships)

    def get_id(self) -> str:
        return self.sid

    @property
    def is_global_admin(self) -> bool:
        return any(p is None and r == "admin" for p, r in self.roles)

    def partnerships_for(self, permission: str, all_partnerships: list[str]) -> list[str]:
        """The partnerships where this person holds `permission`, in registry order."""
        if permission not in ALL_PERMISSIONS:
            raise KeyError(permission)
        allowed: set[str] = set()
        for partnership, role in self.roles:
            if permission in PERMISSIONS.get(role, ()):
                allowed.update(all_partnerships if partnership is None else [partnership])
        return [p for p in all_partnerships if p in allowed]

    def reach(self, permission: str, all_partnerships: list[str]) -> Reach:
        """The cases this person may read with `permission`: a conference chair only the conference
        escalations of their partnership (service.casework.access)."""
        full: set[str] = set()
        conference: set[str] = set()
        for partnership, role in self.roles:
            if permission in PERMISSIONS.get(role, ()):
                chosen = conference if role == CONFERENCE_READERS_ONLY else full
                chosen.update(all_partnerships if partnership is None else [partnership])
        return Reach(
            tuple(p for p in all_partnerships if p in full),
            tuple(p for p in all_partnerships if p in conference and p not in full),
        )

    def can(self, permission: str, partnership: str | None = None) -> bool:
        everything = all_partnerships()
        allowed = self.partnerships_for(permission, everything)
        return bool(allowed) if partnership is None else partnership in allowed


def all_partnerships() -> list[str]:
    return [pack.id for pack in current_app.extensions["registry"].packs]


def allowed_partnerships(permission: str) -> list[str]:
    return current_user.partnerships_for(permission, all_partnerships())


def case_reach(permission: str) -> Reach:
    """The cases the signed-in user may read or change with `permission`."""
    return current_user.reach(permission, all_partnerships())


def _load(sid: str) -> Staff | None:
    session = db.session()
    row = session.get(StaffSession, sid)
    if row is None or row.ended_at is not None:
        return None
    moment = now()
    idle = dt.timedelta(minutes=current_app.config.get("WORKSPACE_IDLE_MINUTES", IDLE_MINUTES))
    if moment - row.last_seen_at > idle:
        row.ended_at = moment
        session.commit()
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if (moment - row.last_seen_at).total_seconds() > TOUCH_SECONDS:
        row.last_seen_at = moment
        session.commit()
    return Staff(user, sid)


def requires(permission: str) -> Callable:
    """Sign-in and `permission` (in at least one partnership) for a staff view.

    The decorated view carries `required_permission`, which tests/workspace/test_security_routes.py checks on
    every staff route of app.url_map."""
    if permission not in ALL_PERMISSIONS:
        raise KeyError(permission)

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if not current_user.can(permission):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_permission = permission
        return wrapped

    return decorate


def public(view: Callable) -> Callable:
    """Mark a workspace view open to everyone (the sign-in page), so the route walk knows it is meant."""
    view.required_permission = None
    return view


def init_app(app: Flask) -> None:
    """Flask-Login, and the session cookie settings every staff page relies on."""
    manager = LoginManager()
    manager.login_view = "workspace.sign_in"
    manager.login_message = "Sign in to see that page."
    manager.login_message_category = "info"
    # "strong": a session cookie copied to another browser or address is dropped.
    manager.session_protection = "strong"
    manager.user_loader(_load)
    manager.init_app(app)
    # Secure cookies everywhere except tests and local development over plain http, where
    # COOKIE_SECURE=0 (or TESTING) turns the flag off; HttpOnly and SameSite=Lax always.
    secure = app.config.get("COOKIE_SECURE")
    if secure is None and os.environ.get("COOKIE_SECURE"):
        secure = os.environ["COOKIE_SECURE"].strip().lower() not in ("0", "false", "no", "off")
    if secure is None:
        secure = not app.testing
    app.config["SESSION_COOKIE_SECURE"] = bool(secure)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["REMEMBER_COOKIE_SECURE"] = bool(secure)
    app.config["REMEMBER_COOKIE_HTTPONLY"] = True
    app.config["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", dt.timedelta(hours=8))


def remote_addr() -> str | None:
    return (request.remote_addr or "")[:64] or None

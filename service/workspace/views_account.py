"""Signing in and out, and setting up the optional TOTP second factor."""

from __future__ import annotations

from urllib.parse import urlsplit

import pyotp
from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from service import db
from service.casework import audit
from service.casework.staff import User
from service.workspace import bp
from service.workspace.auth import (
    LOCKOUT_FAILURES,
    LOCKOUT_MINUTES,
    Staff,
    authenticate,
    end_session,
    new_totp_secret,
    public,
    remote_addr,
    requires,
    start_session,
)

# A locked account, an unknown address and a wrong password get the same answer, so the page never
# tells anyone which addresses have accounts.
NOT_SIGNED_IN = (
    f"Enter a correct e-mail address and password. After {LOCKOUT_FAILURES} failed attempts an account is "
    f"locked for {LOCKOUT_MINUTES} minutes"
)
MESSAGES = {
    "bad-credentials": NOT_SIGNED_IN,
    "bad-totp": "Enter the current 6-digit code from your authenticator app",
    "totp-required": "Enter the 6-digit code from your authenticator app",
    "locked": NOT_SIGNED_IN,
    "inactive": "This account is closed; ask your admin",
}


class SignInForm(FlaskForm):
    email = EmailField("E-mail address", validators=[DataRequired("Enter your e-mail address"), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password"), Length(max=1000)])
    code = StringField("Code from your authenticator app (if you set one up)", validators=[Length(max=10)])


class CodeForm(FlaskForm):
    code = StringField("Code from your authenticator app", validators=[DataRequired("Enter the code"), Length(max=10)])


class SignOutForm(FlaskForm):
    pass


def _safe_next(target: str | None) -> str:
    """Only a path inside the workspace, of printable characters: never an open redirect to another
    site, and never a line break or control character that would break the Location header."""
    if target and target.isprintable() and " " not in target and len(target) <= 2000:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/workspace/"):
            return target
    return url_for("workspace.inbox")


@bp.route("/sign-in", methods=["GET", "POST"])
@public
def sign_in():
    form = SignInForm()
    errors = []
    if form.validate_on_submit():
        result = authenticate(db.session(), form.email.data, form.password.data, form.code.data, remote_addr())
        if result.user is not None:
            target = _safe_next(request.args.get("next"))
            # A new session for a new sign-in: nothing from before it (a planted cookie) survives.
            session.clear()
            sid = start_session(db.session(), result.user)
            login_user(Staff(result.user, sid))
            audit.record(db.session(), result.user.email, "sign-in", remote_addr=remote_addr())
            db.session().commit()
            return redirect(target)
        db.session().commit()
        errors.append({"text": MESSAGES[result.reason], "href": "#code" if "totp" in result.reason else "#email"})
    elif request.method == "POST":
        errors = [
            {"text": e, "href": f"#{name}"} for name, es in form.errors.items() for e in es if name != "csrf_token"
        ]
        if "csrf_token" in form.errors:
            errors.append({"text": "The form expired: sign in again", "href": "#email"})
    status = 200 if not errors else 400
    return render_template("workspace/sign_in.html", form=form, errors=errors, title="Sign in"), status


@bp.route("/sign-out", methods=["POST"])
@requires("account")
def sign_out():
    form = SignOutForm()
    if form.validate_on_submit():
        end_session(db.session(), current_user.sid)
        audit.record(db.session(), current_user.email, "sign-out", remote_addr=remote_addr())
        db.session().commit()
        logout_user()
        session.clear()
        flash("You have signed out.", "info")
    return redirect(url_for("workspace.sign_in"))


@bp.route("/account/two-factor", methods=["GET", "POST"])
@requires("account")
def two_factor():
    """Set up TOTP: show a new secret, and keep it only when a code from it is entered."""
    user = db.session().get(User, current_user.user.id)
    form = CodeForm()
    errors = []
    secret = session.get("totp_setup") or new_totp_secret()
    session["totp_setup"] = secret
    if form.validate_on_submit():
        if pyotp.TOTP(secret).verify(form.code.data.strip(), valid_window=1):
            user.totp_secret = secret
            db.session().commit()
            session.pop("totp_setup", None)
            flash("Two-factor sign-in is on: you will be asked for a code each time you sign in.", "success")
            return redirect(url_for("workspace.inbox"))
        errors.append({"text": "That code does not match: enter the current code", "href": "#code"})
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name="Escalate")
    return render_template(
        "workspace/two_factor.html",
        form=form,
        errors=errors,
        secret=secret,
        uri=uri,
        enabled=bool(user.totp_secret),
        title="Two-factor sign-in",
    )

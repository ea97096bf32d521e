"""The "lost your link?" page: a reference and the e-mail address given on the form bring a new
private tracking link by e-mail (service.casework.receipts.recover).

The answer is the same page whether or not they matched, so the page tells no one which references
exist or whose address is on a case; each request is audited, and POSTs are rate-limited per client
address (LOST_LINK_RATE_LIMIT, service.ops.limits)."""

from __future__ import annotations

from flask import request
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextInput
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length, Regexp

from service import db
from service.casework import receipts
from service.web.pages import bp, render_page


class LostLinkForm(FlaskForm):
    reference = StringField(
        "Your case reference",
        validators=[DataRequired("Enter the case reference, like NT-2026-0007"), Length(max=40)],
        widget=GovTextInput(),
        description="It is in the e-mails about the case, for example NT-2026-0007",
    )
    email = StringField(
        "The e-mail address you gave on the form",
        validators=[
            DataRequired("Enter the e-mail address you gave on the form"),
            Regexp(
                rf"^\s*{receipts.ADDRESS.pattern}\s*$",
                message="Enter an e-mail address in the correct format, like name@example.com",
            ),
            Length(max=254),
        ],
        widget=GovTextInput(),
    )
    submit = SubmitField("Send me a new link", widget=GovSubmitInput())


@bp.route("/lost-link", methods=["GET", "POST"])
def lost_link():
    form = LostLinkForm()
    if form.validate_on_submit():
        remote = (request.remote_addr or "")[:64] or None
        receipts.recover(db.session(), form.reference.data, form.email.data, remote_addr=remote)
        return render_page("lost_link_sent.html", title="Check your e-mail")
    errors = [{"text": e, "href": f"#{f.id}"} for f in (form.reference, form.email) for e in f.errors]
    return render_page("lost_link.html", title="Get a new tracking link", form=form, errors=errors)

"""A staff move of a case to the policy's next stage, with its reason: routed and notified like any move.

The move goes through cases.move_stage (service.casework.moves), which tells whom the policy names
for the new stage and records why; a move the policy does not allow is refused on the case page.
"""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from forms.model import Pack, Stage
from service import db
from service.casework import cases
from service.workspace import bp
from service.workspace.auth import requires
from service.workspace.common import WITHOUT_ORIGINALS, audit_here, registry, scoped_case


class MoveForm(FlaskForm):
    reason = TextAreaField(
        "Why it moves to the next stage",
        validators=[DataRequired("Say why the case moves to the next stage"), Length(max=4000)],
    )


def next_stage(pack: Pack, case) -> Stage | None:
    """The stage after the case's current one, if the case is open and on a stage that has one."""
    return pack.next_stage(case.current_stage) if case.status == "open" else None


@bp.route("/cases/<reference>/stage", methods=["POST"])
@requires("cases.write")
def move_stage(reference: str):
    from service.workspace.views_cases import _errors, _page  # the case page, re-rendered with the error

    case = scoped_case(reference, "cases.write", WITHOUT_ORIGINALS)
    pack = registry().pack(case.partnership)
    form = MoveForm(prefix="move")
    following = next_stage(pack, case)
    if following is None:
        return _page(
            case, move_form=form, errors=[{"text": "This case has no next stage", "href": "#move"}], status=409
        )
    if not form.validate_on_submit():
        return _page(case, move_form=form, errors=_errors(form), status=400)
    audit_here("case.stage", case, detail=f"moved to {following.label}")
    try:
        cases.move_stage(db.session(), case, following.id, channel="workspace", reason=form.reason.data)
    except cases.CaseError as exc:
        case = scoped_case(reference, "cases.write", WITHOUT_ORIGINALS)
        return _page(case, move_form=form, errors=[{"text": str(exc), "href": "#move"}], status=409)
    flash(f"{case.reference} moved to {following.title}; those the policy names were told.", "success")
    return redirect(url_for("workspace.case_page", reference=case.reference) + "#stages")

"""The inbox of normalised submissions."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from marshmallow import ValidationError

from forms.taxonomy import CATEGORIES
from service import db
from service.casework import channels
from service.casework import inbox as inbox_rows
from service.casework.cases import CHANNELS
from service.intake import uploads
from service.workspace import bp
from service.workspace.auth import all_partnerships, allowed_partnerships, case_reach, requires
from service.workspace.common import registry, today

CHANNEL_NAMES = {c: channels.name(c) for c in CHANNELS}  # for the page: Web form, E-mail, ...


def filters_from(args) -> tuple[dict, list[dict]]:
    """The inbox filters from a query string, and an error per bad value (the bad value is dropped)."""
    raw = {k: v for k, v in args.items() if k in inbox_rows.InboxFilterSchema().fields}
    try:
        return inbox_rows.InboxFilterSchema().load(raw), []
    except ValidationError as exc:
        errors = [{"text": f"{key}: {' '.join(msgs)}", "href": f"#{key}"} for key, msgs in exc.messages.items()]
        kept = {k: v for k, v in raw.items() if k not in exc.messages}
        return inbox_rows.InboxFilterSchema().load(kept), errors


@bp.route("/")
@requires("cases.read")
def index():
    return redirect(url_for("workspace.inbox"))


@bp.route("/inbox")
@requires("cases.read")
def inbox():
    partnerships = allowed_partnerships("cases.read")
    filters, errors = filters_from(request.args)
    if filters.get("partnership") and filters["partnership"] not in partnerships:
        errors.append({"text": "partnership: not one of yours", "href": "#partnership"})
        filters["partnership"] = None
    found = inbox_rows.page(db.session(), case_reach("cases.read"), filters, today())
    packs = [registry().pack(p) for p in partnerships]
    stages = sorted({s.id for pack in packs for s in pack.stages}, key=lambda s: (not s.isdigit(), s.zfill(3)))
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    # Returned files still waiting or being read (an unattributed one only for who sees every partnership).
    reading, reading_total = uploads.being_read(
        db.session(), partnerships, unattributed=set(partnerships) >= set(all_partnerships())
    )
    return render_template(
        "workspace/inbox.html",
        title="Inbox",
        page=found,
        filters=filters,
        errors=errors,
        categories=CATEGORIES,
        short_names={p.id: p.short_name for p in packs},
        channel_names=CHANNEL_NAMES,
        options={
            "partnership": [(p.id, p.short_name) for p in packs],
            "stage": [(s, s) for s in stages],
            "category": list(CATEGORIES.items()),
            "channel": [(c, CHANNEL_NAMES.get(c, c)) for c in CHANNELS],
        },
        prev_url=url_for("workspace.inbox", **args, page=found.page - 1) if found.page > 1 else None,
        next_url=url_for("workspace.inbox", **args, page=found.page + 1) if found.page < found.pages else None,
        export_args=args,
        reading=reading,
        reading_total=reading_total,
    ), (400 if errors else 200)

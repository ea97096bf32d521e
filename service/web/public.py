"""The pages every public service needs, filled from the partnership's pack and the settings: a
privacy notice (UK GDPR articles 13 and 14), an accessibility statement (the GOV.UK model), a contact
page, and the favicon.

Who to contact is taken from the directory: the partnership's own contacts (no agency) in the roles
its routing rules send escalations to, so the page names the same people the service notifies.
"""

from __future__ import annotations

from flask import current_app, send_from_directory
from sqlalchemy import select

from forms.model import Pack
from service import db
from service.casework import retention
from service.casework.models import Contact
from service.web.pages import STATIC, bp, pack_or_404, registry, render_page

# When this service was last checked against WCAG 2.2 AA (the statement says so, as the model asks).
ACCESSIBILITY_REVIEWED = "3 December 2026"
ICO_PHONE = "0303 123 1113"


def contacts(pack: Pack) -> list[dict]:
    """The partnership's own contacts (not an agency's) in the roles its routing notifies."""
    roles = {rule["to"]["role"] for rule in pack.routing if isinstance(rule.get("to"), dict)}
    rows = db.session().scalars(
        select(Contact)
        .where(Contact.partnership == pack.id, Contact.role.in_(roles), Contact.agency.is_(None))
        .order_by(Contact.role, Contact.id)
    )
    names = {r.id: r.name for r in pack.roles}
    seen, out = set(), []
    for c in rows:
        if c.email and c.email not in seen:
            seen.add(c.email)
            out.append({"name": c.name, "role": names.get(c.role, ""), "email": c.email, "phone": c.phone})
    return out


def retention_years() -> int:
    return int(current_app.config.get("RETENTION_YEARS") or retention.DEFAULT_YEARS)


@bp.route("/p/<pack_id>/privacy")
def privacy(pack_id: str):
    pack = pack_or_404(pack_id)
    return render_page(
        "public/privacy.html",
        title="Privacy notice",
        pack=pack,
        contacts=contacts(pack),
        years=retention_years(),
        ico_phone=ICO_PHONE,
    )


@bp.route("/p/<pack_id>/accessibility")
def accessibility(pack_id: str):
    pack = pack_or_404(pack_id)
    return render_page(
        "public/accessibility.html",
        title="Accessibility statement",
        pack=pack,
        contacts=contacts(pack),
        reviewed=ACCESSIBILITY_REVIEWED,
    )


@bp.route("/p/<pack_id>/contact")
def contact(pack_id: str):
    pack = pack_or_404(pack_id)
    return render_page("public/contact.html", title="Contact", pack=pack, contacts=contacts(pack))


@bp.route("/about/<page>")
def about(page: str):
    """The service-wide page: each partnership has its own notice, statement and contacts."""
    titles = {"privacy": "Privacy notice", "accessibility": "Accessibility statement", "contact": "Contact"}
    if page not in titles:
        return render_page("not_found.html", title="Page not found"), 404
    return render_page("public/choose.html", title=titles[page], page=page, packs=registry().packs)


@bp.route("/favicon.ico")
def favicon():
    return send_from_directory(STATIC, "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=86400)

"""Receiving agencies chosen from the partnership's directory on the question pages.

Where a routing rule sends a form to the receiving agency's own lead (Kirklees Appendix 3: each
agency's safeguarding lead), the agency is picked from the directory's agencies (a list the browser
offers as the person types), or written as "Not listed: <name>", which goes to the form's other
recipients to find the lead: the roles the pack's other rules for the form send to, named and
quoted from the pack (Kirklees: the CPRU), never from code. A name the
directory does not hold is refused on the page, at its row, rather than when the form is sent.
Who receives is service.casework.recipients'."""

from __future__ import annotations

from sqlalchemy import select

from forms.model import FormSpec, Pack
from service import db
from service.casework import routing
from service.casework.models import Contact
from service.casework.recipients import agency_roles as _roles
from service.casework.recipients import names, other_recipients
from service.web.answers import cleaned

NOT_LISTED = routing.NOT_LISTED


def not_listed_note(pack: Pack, spec: FormSpec) -> str | None:
    """What the question page says of an agency missing from the directory, in the pack's words and
    with the policy's own words for who receives it; None when the form is not sent by agency."""
    if not _roles(pack, spec):
        return None
    roles = other_recipients(pack, spec)
    lead = f"Agency: choose it from the {pack.short_name} directory as you type. If it is not there, write “{NOT_LISTED}” and its name"
    if not roles:  # routing.route records it as not in the directory and sends it to nobody
        return f"{lead}: the form then records that it is not in the directory, and it is sent to nobody."
    said = "; ".join(f"{r.source}: “{' … '.join(r.quote)}”" for r in roles if r.quote)
    # The policy names who receives the form; that they find a missing agency's lead is the service's reading.
    why = f"this service’s reading; the policy, {said}" if said else "this service’s reading"
    return f"{lead}: it is sent to {names(roles)} to find its lead ({why})."


def not_in_directory(pack: Pack, spec: FormSpec, value: str) -> str:
    """The error at a row naming an agency the directory does not hold."""
    roles = other_recipients(pack, spec)
    who = f" for {names(roles)} to find its lead" if roles else ""
    return (
        f"{value} is not in the {pack.short_name} directory: choose an agency from the list, "
        f"or write “{NOT_LISTED}” and its name{who}"
    )


def directory_agencies(pack: Pack, spec: FormSpec) -> list[str]:
    """The agencies to choose from for this form, or none when its routing does not go by agency."""
    roles = _roles(pack, spec)
    if not roles:
        return []
    names = db.session().scalars(
        select(Contact.agency)
        .where(Contact.partnership == pack.id, Contact.role.in_(roles), Contact.agency.is_not(None))
        .distinct()
    )
    return sorted(set(names), key=str.casefold)


def check(form, pack: Pack, spec: FormSpec) -> bool:
    """Mark each receiving agency the directory does not hold; True when there is none."""
    known = {routing.normalise_agency(a) for a in directory_agencies(pack, spec)}
    if not known:
        return True
    fine = True
    for f in form.section.fields:
        targets = []
        if f.maps_to == "receiving_agency":
            targets.append(form[f.key])
        column = next((c for c in f.columns if c.maps_to == "receiving_agency"), None)
        if column is not None:
            targets += [entry.form[column.key] for entry in form[f.key].entries]
        for field in targets:
            value = cleaned(field.data)  # as the answer is kept: no control characters to name back
            if value and not routing.not_listed(value) and routing.normalise_agency(value) not in known:
                field.errors = [*field.errors, not_in_directory(pack, spec, value)]
                fine = False
    return fine

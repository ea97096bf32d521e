"""Receiving agencies chosen from the partnership's directory on the question pages.

Where a routing rule sends a form to the receiving agency's own lead (Kirklees Appendix 3: each
agency's safeguarding lead), the agency is picked from the directory's agencies (a list the browser
offers as the person types), or written as "Not listed: <name>", which goes to the partnership's
other recipients (the CP Review Unit) to find the lead. A name the directory does not hold is
refused on the page, at its row, rather than when the form is sent."""

from __future__ import annotations

from sqlalchemy import select

from forms.model import FormSpec, Pack
from service import db
from service.casework import routing
from service.casework.models import Contact

NOT_LISTED = routing.NOT_LISTED


def _roles(pack: Pack, spec: FormSpec) -> set[str]:
    """Roles a rule applying to this form sends to by the receiving agency (stage-independent rules)."""
    rules = (r for r in pack.routing if r["to"].get("match") == "receiving_agency")
    return {
        r["to"]["role"]
        for r in rules
        if "stages" not in r["when"] and "stages_from" not in r["when"] and routing.applies(r, pack, spec, None)
    }


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
            value = (field.data or "").strip()
            if value and not routing.not_listed(value) and routing.normalise_agency(value) not in known:
                field.errors = [
                    *field.errors,
                    f"{value} is not in the {pack.short_name} directory: choose an agency from the list, "
                    f"or write “{NOT_LISTED}” and its name for the Child Protection Review Unit to find its lead",
                ]
                fine = False
    return fine

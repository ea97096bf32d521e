"""Who receives a form whatever its stage, read from the pack's routing rules: the roles sent to by
the receiving agency (Kirklees Appendix 3: each agency's safeguarding lead), and the form's other
recipients, who receive every row and a "Not listed" agency's row to find its lead (Kirklees: the
CPRU). Pages and letters name them from here, in the pack's words."""

from __future__ import annotations

from forms.model import FormSpec, Pack, Role
from service.casework import routing


def _rules(pack: Pack, spec: FormSpec) -> list[dict]:
    """The routing rules applying to this form whatever its stage (with no stage, `applies` leaves out
    every rule naming stages)."""
    return [r for r in pack.routing if routing.applies(r, pack, spec, None)]


def agency_roles(pack: Pack, spec: FormSpec) -> set[str]:
    """Roles a rule applying to this form sends to by the receiving agency (stage-independent rules)."""
    return {r["to"]["role"] for r in _rules(pack, spec) if r["to"].get("match") == "receiving_agency"}


def other_recipients(pack: Pack, spec: FormSpec) -> tuple[Role, ...]:
    """The roles that receive the form whatever its agencies: they receive a "Not listed" agency's row
    (routing.route) and a copy of every other, so they find the agency's lead. In the pack's order."""
    if not agency_roles(pack, spec):
        return ()
    ids = {r["to"]["role"] for r in _rules(pack, spec) if r["to"].get("match", "none") == "none"}
    return tuple(role for role in pack.roles if role.id in ids)


def names(roles: tuple[Role, ...]) -> str:
    """The roles' names as the pack gives them, joined for a sentence ("A, B and C")."""
    words = [f"the {r.name}" for r in roles]
    return " and ".join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else "".join(words)

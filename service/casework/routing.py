"""Routing: who receives a submission, decided by the rules in the partnership's pack.yaml.

A rule (validated at load by forms.schemas.RoutingRuleSchema) reads:

    - id: ntscp-notified-from-stage-3
      when: {stages_from: "3"}            # and/or stages: [...], forms: [...], areas: [...], process: cp-conference
      to: {role: business-manager}        # match: none | receiving_agency | receiving_sector
      source: "§5 Stage 3; §6"

Every condition in `when` must hold. `to.role` picks the directory contacts holding that role
(a contact tied to a stage only for that stage); `match: receiving_sector` keeps those for the
case's receiving sector (Merton Appendix B); `match: receiving_agency` keeps those for each
receiving agency the submission names, one per row on a rows form (Kirklees Appendix 3), and an
agency without such a contact is refused (UnknownAgency), as the business unit must add it first.
A role nobody holds yet is still recorded, with no address, so the gap shows on the case.

A stage whose policy names who is told (`notifies:` on the stage) reaches that role even if no rule
says so, so a pack cannot name a person at a stage and leave them out. A move with no form (a staff
move, the API) routes the same way, reading the receiving agency from the case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from forms.model import FormSpec, Pack
from service.casework.directory import normalise_agency
from service.casework.models import Contact


class RoutingError(ValueError):
    """The submission names something routing cannot resolve; nothing is stored."""


class UnknownAgency(RoutingError):
    pass


@dataclass(frozen=True)
class Route:
    rule_id: str
    role: str
    contact: Contact | None
    agency: str | None
    reason: str
    given_email: str | None = None  # the address a form's answer gives (a party, the raiser's line manager)
    given_name: str | None = None

    @property
    def name(self) -> str:
        return self.contact.name if self.contact else self.given_name or self.role

    @property
    def email(self) -> str | None:
        return self.contact.email if self.contact else self.given_email

    @property
    def phone(self) -> str | None:
        return self.contact.phone if self.contact else None


# An agency the sender could not find in the directory, named as "Not listed: <its name>": its rule
# routes to nobody (said so on the case), and the pack's other rules (Kirklees Appendix 3: the
# CPRU) receive it and find the agency's lead.
NOT_LISTED = "Not listed: "


def not_listed(agency: str | None) -> bool:
    return bool(agency) and agency.strip().lower().startswith(NOT_LISTED.strip().lower())


def receiving_agencies(spec: FormSpec, data: dict) -> list[str]:
    """Every receiving agency a submission names: the mapped field, or that column in each row."""
    field = spec.field_for("receiving_agency")
    if field is not None:
        return [data[field.key]] if data.get(field.key) else []
    agencies: list[str] = []
    for f in spec.fields:
        column = next((c for c in f.columns if c.maps_to == "receiving_agency"), None)
        if column is None:
            continue
        for row in data.get(f.key, ()):
            agency = (row.get(column.key) or "").strip()
            if agency and normalise_agency(agency) not in {normalise_agency(a) for a in agencies}:
                agencies.append(agency)
    return agencies


def applies(
    rule: dict,
    pack: Pack,
    spec: FormSpec | None,
    stage: str | None,
    area: str | None = None,
    process: str | None = None,
) -> bool:
    when = rule["when"]
    if "forms" in when and (spec is None or spec.id not in when["forms"]):
        return False
    if "process" in when and (spec.process if spec else process or "escalation") != when["process"]:
        return False
    if "areas" in when and area not in when["areas"]:
        return False
    if "stages" in when and stage not in when["stages"]:
        return False
    if "stages_from" in when:
        if stage is None:
            return False
        return pack.stage_index(stage) >= pack.stage_index(when["stages_from"])
    return True


def _role_name(pack: Pack, role_id: str) -> str:
    return next((r.name for r in pack.roles if r.id == role_id), role_id)


def _stage_rule(pack: Pack, stage: str | None, chosen: list[dict]) -> dict | None:
    """The stage's own `notifies`, as a rule, when no routing rule already reaches that role."""
    if stage is None:
        return None
    named = pack.stage(stage)
    if not named.notifies or any(r["to"]["role"] == named.notifies for r in chosen):
        return None
    return {"id": f"stage-{stage}-notifies", "to": {"role": named.notifies, "match": "none"}}


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _answered(pack: Pack, rule: dict, spec: FormSpec | None, data: dict | None, stage: str | None) -> Route:
    """The person whose address the form's answer gives; recorded with no address when none was given."""
    role_name = _role_name(pack, rule["to"]["role"])
    key = rule["to"]["answer"]
    address = ((data or {}).get(key) or "").strip()
    label = spec.field(key).label if spec and key in {f.key for f in spec.fields} else key
    reason = (
        f"{role_name}, at {pack.stage(stage).label} ({rule['source']})" if stage else f"{role_name} ({rule['source']})"
    )
    if not _EMAIL.match(address):
        reason += f": no e-mail address was given for '{label}'"
        address = None
    return Route(rule["id"], rule["to"]["role"], None, None, reason, given_email=address, given_name=role_name)


def route(
    pack: Pack,
    spec: FormSpec | None,
    data: dict | None,
    *,
    stage: str | None,
    receiving_sector: str | None,
    contacts: list[Contact],
    area: str | None = None,
    receiving_agency: str | None = None,
    process: str | None = None,
) -> list[Route]:
    """The recipients of this submission or move, each with the rule that chose them, in rule order."""
    routes: list[Route] = []
    chosen = [r for r in pack.routing if applies(r, pack, spec, stage, area, process)]
    extra = _stage_rule(pack, stage, chosen)
    for rule in chosen + ([extra] if extra else []):
        role, match = rule["to"]["role"], rule["to"]["match"]
        holders = [c for c in contacts if c.role == role and (c.stage is None or c.stage == stage)]
        role_name = _role_name(pack, role)
        if match == "answer":
            routes.append(_answered(pack, rule, spec, data, stage))
            continue
        if match == "receiving_agency":
            agencies = receiving_agencies(spec, data) if spec else [a for a in [receiving_agency] if a]
            for agency in agencies:
                if not_listed(agency):
                    routes.append(
                        Route(rule["id"], role, None, agency, f"{role_name} for {agency}: not in the directory")
                    )
                    continue
                found = [c for c in holders if normalise_agency(c.agency) == normalise_agency(agency)]
                if not found:
                    raise UnknownAgency(
                        f"no {role_name} for the agency '{agency}' in the {pack.short_name} directory: "
                        "check the agency's name, or the business unit adds its contact to the directory"
                    )
                routes += [Route(rule["id"], role, c, agency, f"{role_name} for {agency}") for c in found]
            continue
        if match == "receiving_sector":
            sector_name = next((s.name for s in pack.sectors if s.id == receiving_sector), receiving_sector)
            holders = [c for c in holders if c.sector == receiving_sector]
            reason = f"{role_name} for {sector_name}"
        else:
            reason = role_name
        if stage is not None:
            reason = f"{reason}, at {pack.stage(stage).label} ({pack.stage(stage).source})"
        if not holders:
            routes.append(Route(rule["id"], role, None, None, f"{reason}: nobody in the directory holds this role"))
        routes += [Route(rule["id"], role, c, c.agency, reason) for c in holders]
    return routes

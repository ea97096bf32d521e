"""Cross-checks a schema cannot make: every name a pack's files use refers to something the pack has.

A form's stages are the pack's stages; a form that carries no child details asks for none; each case
field is fed by one form field; a pack's ids are unique; its stages' forms and roles, and its routing
rules' stages, forms and roles, exist; across packs, reference prefixes and form ids are unique.
Each error names the file and the key.
"""

from __future__ import annotations

from pathlib import Path

from forms import model
from forms.files import PackError


def check_form_stages(raw: dict, pack_raw: dict, path: Path) -> None:
    """A form may only name the pack's own stages."""
    stage_ids = {s.id for s in pack_raw["stages"]}
    for i, stage in enumerate(raw["stages"]):
        if stage not in stage_ids:
            raise PackError(f"{path}: stages.{i}: the pack has no stage '{stage}'")


def check_form_fields(spec: model.FormSpec, path: Path) -> None:
    """No child details on a form that carries none; no case field fed by two of its fields."""
    if not spec.carries_child_details:
        flagged = [f.key for f in spec.fields if f.child_detail] + [
            c.key for f in spec.fields for c in f.columns if c.child_detail
        ]
        if flagged:
            raise PackError(f"{path}: carries_child_details: the form carries no child details but asks for {flagged}")
    maps = [f.maps_to for f in spec.fields if f.maps_to]
    dupes = {m for m in maps if maps.count(m) > 1}
    if dupes:
        raise PackError(f"{path}: maps_to: {sorted(dupes)} fed by more than one field")


def check_unique_ids(raw: dict, path: Path) -> None:
    """Stage, area, role and sector ids are each used once in a pack."""
    for key in ("stages", "areas", "roles", "sectors"):
        ids = [item.id for item in raw.get(key, ())]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise PackError(f"{path}: {key}: ids used twice {sorted(dupes)}")


def check_pack_references(raw: dict, path: Path, form_ids: set[str], role_ids: set[str]) -> None:
    """A stage's form and notified role, and the routing rules' names, are the pack's own."""
    for i, stage in enumerate(raw["stages"]):
        if stage.form and stage.form not in form_ids:
            raise PackError(f"{path}: stages.{i}.form: the pack has no form '{stage.form}'")
        if stage.notifies and stage.notifies not in role_ids:
            raise PackError(f"{path}: stages.{i}.notifies: the pack has no role '{stage.notifies}'")
    stage_ids = [s.id for s in raw["stages"]]
    for i, bypass in enumerate(raw.get("bypasses", ())):
        if bypass.stage not in stage_ids[:-1]:
            raise PackError(f"{path}: bypasses.{i}.stage: the pack has no stage '{bypass.stage}' before its last")
    if raw.get("closing_needs") and raw["closing_needs"].form not in form_ids:
        raise PackError(f"{path}: closing_needs.form: the pack has no form '{raw['closing_needs'].form}'")
    check_routing(raw, path, form_ids, role_ids)


def check_routing(raw: dict, path: Path, form_ids: set[str], role_ids: set[str]) -> None:
    """Routing rules may only name the pack's own stages, forms and roles."""
    stage_ids = {s.id for s in raw["stages"]}
    seen: set[str] = set()
    for i, rule in enumerate(raw.get("routing", ())):
        where = f"routing.{i}"
        if rule["id"] in seen:
            raise PackError(f"{path}: {where}.id: '{rule['id']}' is used twice")
        seen.add(rule["id"])
        when = rule["when"]
        for j, stage in enumerate(when.get("stages", ())):
            if stage not in stage_ids:
                raise PackError(f"{path}: {where}.when.stages.{j}: the pack has no stage '{stage}'")
        if "stages_from" in when and when["stages_from"] not in stage_ids:
            raise PackError(f"{path}: {where}.when.stages_from: the pack has no stage '{when['stages_from']}'")
        for j, area in enumerate(when.get("areas", ())):
            if area not in {a.id for a in raw["areas"]}:
                raise PackError(f"{path}: {where}.when.areas.{j}: the pack has no area '{area}'")
        for j, form_id in enumerate(when.get("forms", ())):
            if form_id not in form_ids:
                raise PackError(f"{path}: {where}.when.forms.{j}: the pack has no form '{form_id}'")
        if rule["to"]["role"] not in role_ids:
            raise PackError(f"{path}: {where}.to.role: the pack has no role '{rule['to']['role']}'")
        if rule["to"]["match"] == "receiving_sector" and not raw.get("sectors"):
            raise PackError(f"{path}: {where}.to.match: the pack lists no sectors to match on")


def check_conference_follow_up(raw: dict, path: Path, forms: tuple[model.FormSpec, ...]) -> None:
    """A pack with a conference escalation form says how long the agency has to respond and how often
    it is chased (conference_follow_up); a pack without one has nothing to follow up."""
    has_form = any(f.process == "cp-conference" for f in forms)
    if has_form and not raw.get("conference_follow_up"):
        raise PackError(
            f"{path}: conference_follow_up: the pack has a conference escalation form: say how many working "
            "days the agency has to respond, with the policy's words and the service's reading, and its chasers"
        )
    if not has_form and raw.get("conference_follow_up"):
        raise PackError(f"{path}: conference_follow_up: the pack has no conference escalation form to follow up")


def check_registry(packs: tuple[model.Pack, ...], packs_dir: Path) -> None:
    """Each pack has its own reference prefix, and no two forms share an id."""
    prefixes = [p.reference_prefix for p in packs]
    if len(set(prefixes)) != len(prefixes):
        raise PackError(f"{packs_dir}: reference_prefix: each pack needs its own prefix, got {prefixes}")
    form_ids = [f for p in packs for f in (form.id for form in p.forms)]
    if len(set(form_ids)) != len(form_ids):
        raise PackError(f"{packs_dir}: form ids must be unique across packs")

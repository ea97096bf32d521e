"""Load partnership packs from data files and validate them.

A pack is a folder: `pack.yaml` (policy, stages, areas, roles) and `forms/*.yaml` (one spec per
form). Every error names the file and the key, so whoever edits a pack can find the mistake.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from forms import model
from forms.taxonomy import CATEGORIES

PACKS_DIR = Path(__file__).parent / "packs"

_id = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]*$"))
_text = dict(required=True, validate=validate.Length(min=1))


class PackError(ValueError):
    """A pack or form file is invalid; the message names the file and the key."""


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class TimescaleSchema(_Strict):
    kind = fields.String(required=True, validate=validate.OneOf(model.TIMESCALE_KINDS))
    days = fields.Integer(validate=validate.Range(min=1, max=60))

    @validates_schema
    def _days_with_working_days(self, data, **kwargs):
        if data["kind"] == "working_days" and "days" not in data:
            raise ValidationError("working_days needs a number of days", "days")
        if data["kind"] != "working_days" and "days" in data:
            raise ValidationError("only working_days takes a number of days", "days")

    @post_load
    def _make(self, data, **kwargs):
        return model.Timescale(**data)


class StageSchema(_Strict):
    id = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9-]+$"))
    name = fields.String(**_text)
    who_acts = fields.String(**_text)
    timescale = fields.Nested(TimescaleSchema, required=True)
    records = fields.String(**_text)
    source = fields.String(**_text)
    form = fields.String()
    notifies = fields.String()

    @post_load
    def _make(self, data, **kwargs):
        return model.Stage(**data)


class AreaSchema(_Strict):
    id = _id
    text = fields.String(**_text)
    category = fields.String(required=True, validate=validate.OneOf(list(CATEGORIES)))
    source = fields.String(**_text)

    @post_load
    def _make(self, data, **kwargs):
        return model.Area(**data)


class RoleSchema(_Strict):
    id = _id
    name = fields.String(**_text)
    source = fields.String(**_text)

    @post_load
    def _make(self, data, **kwargs):
        return model.Role(**data)


class SectorSchema(RoleSchema):
    @post_load
    def _make(self, data, **kwargs):
        return model.Sector(**data)


class PhoneSchema(_Strict):
    label = fields.String(**_text)
    number = fields.String(required=True, validate=validate.Regexp(r"^[0-9 ]+$"))

    @post_load
    def _make(self, data, **kwargs):
        return model.Phone(**data)


class ImmediateRiskSchema(_Strict):
    text = fields.String(**_text)
    phones = fields.List(fields.Nested(PhoneSchema), required=True)
    source = fields.String(**_text)

    @post_load
    def _make(self, data, **kwargs):
        return model.ImmediateRisk(text=data["text"], phones=tuple(data["phones"]), source=data["source"])


class PolicySchema(_Strict):
    title = fields.String(**_text)
    file = fields.String(**_text)
    summary = fields.String(**_text)
    source = fields.String(**_text)


class RoutingWhenSchema(_Strict):
    """When a routing rule applies; every condition given must hold (none given: every submission)."""

    stages = fields.List(fields.String(), validate=validate.Length(min=1))
    stages_from = fields.String()
    forms = fields.List(fields.String(), validate=validate.Length(min=1))
    process = fields.String(validate=validate.OneOf(["escalation", "cp-conference"]))


class RoutingToSchema(_Strict):
    """Who receives: the contacts holding `role`, matched on the case's receiving agency or sector."""

    role = fields.String(required=True)
    match = fields.String(
        load_default="none", validate=validate.OneOf(["none", "receiving_agency", "receiving_sector"])
    )


class RoutingRuleSchema(_Strict):
    id = _id
    when = fields.Nested(RoutingWhenSchema, load_default=dict)
    to = fields.Nested(RoutingToSchema, required=True)
    source = fields.String(**_text)


class PackSchema(_Strict):
    id = _id
    name = fields.String(**_text)
    short_name = fields.String(**_text)
    reference_prefix = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{2,5}$"))
    policy = fields.Nested(PolicySchema, required=True)
    recording = fields.String(**_text)
    recording_source = fields.String(**_text)
    immediate_risk = fields.Nested(ImmediateRiskSchema, required=True)
    skip_allowed_when_immediate_risk = fields.Boolean(required=True)
    skip_source = fields.String(**_text)
    stages = fields.List(fields.Nested(StageSchema), required=True, validate=validate.Length(min=1))
    areas = fields.List(fields.Nested(AreaSchema), required=True, validate=validate.Length(min=1))
    roles = fields.List(fields.Nested(RoleSchema), required=True)
    sectors = fields.List(fields.Nested(SectorSchema))
    excluded = fields.String()
    excluded_source = fields.String()
    annual_report = fields.String()
    annual_report_source = fields.String()
    routing = fields.List(fields.Nested(RoutingRuleSchema))


class ChoiceSchema(_Strict):
    value = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9-]+$"))
    label = fields.String(**_text)
    category = fields.String(validate=validate.OneOf(list(CATEGORIES)))


class FieldSchema(_Strict):
    key = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]*$"))
    label = fields.String(**_text)
    type = fields.String(required=True, validate=validate.OneOf(model.FIELD_TYPES))
    required = fields.Boolean(load_default=False)
    hint = fields.String()
    aliases = fields.List(fields.String(validate=validate.Length(min=1)))
    choices = fields.List(fields.Nested(ChoiceSchema))
    choices_from = fields.String(validate=validate.OneOf(["stages", "areas", "sectors"]))
    only_stages = fields.List(fields.String())
    columns = fields.List(fields.Nested(lambda: FieldSchema()))
    max_length = fields.Integer(validate=validate.Range(min=1, max=100_000))
    blank_rows = fields.Integer(validate=validate.Range(min=1, max=50))
    maps_to = fields.String(validate=validate.OneOf(model.MAPS_TO))
    child_detail = fields.Boolean()
    source = fields.String()

    @validates_schema
    def _shape(self, data, **kwargs):
        kind = data["type"]
        has_choices = "choices" in data or "choices_from" in data
        if kind in ("choice", "ticks") and not has_choices:
            raise ValidationError(f"a {kind} field needs choices or choices_from", "choices")
        if kind not in ("choice", "ticks") and has_choices:
            raise ValidationError(f"a {kind} field takes no choices", "choices")
        if "choices" in data and "choices_from" in data:
            raise ValidationError("give choices or choices_from, not both", "choices_from")
        if kind == "rows" and not data.get("columns"):
            raise ValidationError("a rows field needs columns", "columns")
        if kind != "rows" and "columns" in data:
            raise ValidationError(f"a {kind} field takes no columns", "columns")
        for column in data.get("columns", ()):
            if column["type"] == "rows":
                raise ValidationError("rows cannot be nested", "columns")


class SectionSchema(_Strict):
    key = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9-]*$"))
    title = fields.String(**_text)
    fields = fields.List(fields.Nested(FieldSchema), required=True, validate=validate.Length(min=1))


class FormSchema(_Strict):
    id = _id
    title = fields.String(**_text)
    short_title = fields.String(**_text)
    appendix = fields.String()
    source = fields.String(**_text)
    derived = fields.Boolean(required=True)
    description = fields.String()
    process = fields.String(validate=validate.OneOf(["escalation", "cp-conference"]))
    stages = fields.List(fields.String(), required=True)
    carries_child_details = fields.Boolean(required=True)
    who_completes = fields.String(**_text)
    instructions = fields.List(fields.String())
    closing = fields.List(fields.String())
    sections = fields.List(fields.Nested(SectionSchema), required=True, validate=validate.Length(min=1))

    @validates_schema
    def _derived_says_so(self, data, **kwargs):
        if data["derived"] and not data.get("description"):
            raise ValidationError("a derived form must say in its description which paragraph it serves", "description")


def _flatten(messages, prefix: str = "") -> list[str]:
    """Turn marshmallow's nested error dict into 'key.path: message' lines."""
    if isinstance(messages, dict):
        out = []
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out.extend(_flatten(value, path))
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [f"{prefix or '(top level)'}: {m}" for m in messages]
    return [f"{prefix}: {messages}"]


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PackError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise PackError(f"{path}: (top level): expected a mapping of keys")
    return data


def _validated(schema: Schema, data: dict, path: Path) -> dict:
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise PackError(f"{path}: " + "; ".join(_flatten(exc.messages))) from exc


def _build_field(raw: dict, pack_raw: dict, path: Path, where: str) -> model.Field:
    choices = tuple(model.Choice(**c) for c in raw.get("choices", ()))
    source = raw.get("choices_from")
    if source == "stages":
        stages = pack_raw["stages"]
        only = raw.get("only_stages")
        if only:
            unknown = set(only) - {s.id for s in stages}
            if unknown:
                raise PackError(f"{path}: {where}.only_stages: no such stage {sorted(unknown)}")
        choices = tuple(model.Choice(s.id, s.title) for s in stages if not only or s.id in only)
    elif source == "areas":
        choices = tuple(model.Choice(a.id, a.text, a.category) for a in pack_raw["areas"])
    elif source == "sectors":
        if not pack_raw.get("sectors"):
            raise PackError(f"{path}: {where}.choices_from: the pack lists no sectors")
        choices = tuple(model.Choice(s.id, s.name) for s in pack_raw["sectors"])
    if len({c.value for c in choices}) != len(choices):
        raise PackError(f"{path}: {where}.choices: values must be unique")
    columns = tuple(
        _build_field(c, pack_raw, path, f"{where}.columns.{i}") for i, c in enumerate(raw.get("columns", ()))
    )
    if len({c.key for c in columns}) != len(columns):
        raise PackError(f"{path}: {where}.columns: column keys must be unique")
    return model.Field(
        key=raw["key"],
        label=raw["label"],
        type=raw["type"],
        required=raw.get("required", False),
        hint=raw.get("hint"),
        aliases=tuple(raw.get("aliases", ())),
        choices=choices,
        columns=columns,
        max_length=raw.get("max_length"),
        blank_rows=raw.get("blank_rows", 3),
        maps_to=raw.get("maps_to"),
        child_detail=raw.get("child_detail", False),
        source=raw.get("source"),
    )


def load_form(path: Path, pack_raw: dict) -> model.FormSpec:
    raw = _validated(FormSchema(), _read_yaml(path), path)
    if raw["id"] != path.stem:
        raise PackError(f"{path}: id: '{raw['id']}' must match the file name '{path.stem}'")
    stage_ids = {s.id for s in pack_raw["stages"]}
    for i, stage in enumerate(raw["stages"]):
        if stage not in stage_ids:
            raise PackError(f"{path}: stages.{i}: the pack has no stage '{stage}'")
    sections = []
    seen: set[str] = set()
    for si, section in enumerate(raw["sections"]):
        built = []
        for fi, raw_field in enumerate(section["fields"]):
            where = f"sections.{si}.fields.{fi}"
            if raw_field["key"] in seen:
                raise PackError(f"{path}: {where}.key: '{raw_field['key']}' is used twice")
            seen.add(raw_field["key"])
            built.append(_build_field(raw_field, pack_raw, path, where))
        sections.append(model.Section(section["key"], section["title"], tuple(built)))
    spec = model.FormSpec(
        id=raw["id"],
        partnership=pack_raw["id"],
        title=raw["title"],
        short_title=raw["short_title"],
        source=raw["source"],
        derived=raw["derived"],
        description=raw.get("description"),
        appendix=raw.get("appendix"),
        process=raw.get("process", "escalation"),
        stages=tuple(raw["stages"]),
        carries_child_details=raw["carries_child_details"],
        who_completes=raw["who_completes"],
        instructions=tuple(raw.get("instructions", ())),
        closing=tuple(raw.get("closing", ())),
        sections=tuple(sections),
    )
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
    return spec


def _check_routing(raw: dict, path: Path, form_ids: set[str], role_ids: set[str]) -> None:
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
        for j, form_id in enumerate(when.get("forms", ())):
            if form_id not in form_ids:
                raise PackError(f"{path}: {where}.when.forms.{j}: the pack has no form '{form_id}'")
        if rule["to"]["role"] not in role_ids:
            raise PackError(f"{path}: {where}.to.role: the pack has no role '{rule['to']['role']}'")
        if rule["to"]["match"] == "receiving_sector" and not raw.get("sectors"):
            raise PackError(f"{path}: {where}.to.match: the pack lists no sectors to match on")


def load_pack(folder: Path) -> model.Pack:
    path = folder / "pack.yaml"
    raw = _validated(PackSchema(), _read_yaml(path), path)
    if raw["id"] != folder.name:
        raise PackError(f"{path}: id: '{raw['id']}' must match the folder name '{folder.name}'")
    for key in ("stages", "areas", "roles", "sectors"):
        ids = [item.id for item in raw.get(key, ())]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise PackError(f"{path}: {key}: ids used twice {sorted(dupes)}")
    forms = tuple(load_form(p, raw) for p in sorted((folder / "forms").glob("*.yaml")))
    form_ids = {f.id for f in forms}
    role_ids = {r.id for r in raw["roles"]}
    for i, stage in enumerate(raw["stages"]):
        if stage.form and stage.form not in form_ids:
            raise PackError(f"{path}: stages.{i}.form: the pack has no form '{stage.form}'")
        if stage.notifies and stage.notifies not in role_ids:
            raise PackError(f"{path}: stages.{i}.notifies: the pack has no role '{stage.notifies}'")
    _check_routing(raw, path, form_ids, role_ids)
    return model.Pack(
        id=raw["id"],
        name=raw["name"],
        short_name=raw["short_name"],
        reference_prefix=raw["reference_prefix"],
        policy_title=raw["policy"]["title"],
        policy_file=raw["policy"]["file"],
        policy_summary=raw["policy"]["summary"],
        policy_source=raw["policy"]["source"],
        recording=raw["recording"],
        recording_source=raw["recording_source"],
        immediate_risk=raw["immediate_risk"],
        skip_allowed_when_immediate_risk=raw["skip_allowed_when_immediate_risk"],
        skip_source=raw["skip_source"],
        stages=tuple(raw["stages"]),
        areas=tuple(raw["areas"]),
        roles=tuple(raw["roles"]),
        sectors=tuple(raw.get("sectors", ())),
        forms=forms,
        excluded=raw.get("excluded"),
        excluded_source=raw.get("excluded_source"),
        annual_report=raw.get("annual_report"),
        annual_report_source=raw.get("annual_report_source"),
        routing=tuple(raw.get("routing", ())),
    )


def load_registry(packs_dir: Path = PACKS_DIR) -> model.Registry:
    folders = sorted(p for p in packs_dir.iterdir() if (p / "pack.yaml").exists())
    if not folders:
        raise PackError(f"{packs_dir}: no packs found (each pack is a folder with pack.yaml)")
    packs = tuple(load_pack(folder) for folder in folders)
    prefixes = [p.reference_prefix for p in packs]
    if len(set(prefixes)) != len(prefixes):
        raise PackError(f"{packs_dir}: reference_prefix: each pack needs its own prefix, got {prefixes}")
    form_ids = [f for p in packs for f in (form.id for form in p.forms)]
    if len(set(form_ids)) != len(form_ids):
        raise PackError(f"{packs_dir}: form ids must be unique across packs")
    return model.Registry(packs)


_REGISTRY: model.Registry | None = None


def registry() -> model.Registry:
    """The packs shipped with the service, loaded once per process."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = load_registry()
    return _REGISTRY


__all__ = ["EXCLUDE", "PackError", "load_pack", "load_registry", "registry"]

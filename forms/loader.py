"""Load partnership packs from data files and validate them.

A pack is a folder: `pack.yaml` (policy, stages, areas, roles) and `forms/*.yaml` (one spec per
form). Every error names the file and the key, so whoever edits a pack can find the mistake.
This module builds the pack and form objects; each file's shape is checked by its schema
(forms.schemas, read by forms.files) and the names across files by forms.checks.
"""

from __future__ import annotations

from pathlib import Path

from marshmallow import EXCLUDE

from forms import model, quotes
from forms.checks import (
    check_conference_follow_up,
    check_form_fields,
    check_form_stages,
    check_pack_references,
    check_registry,
    check_unique_ids,
)
from forms.files import PackError, read_yaml, validated
from forms.schemas import FormSchema, PackSchema

PACKS_DIR = Path(__file__).parent / "packs"


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
        past=raw.get("past", False),
        source=raw.get("source"),
    )


def load_form(path: Path, pack_raw: dict) -> model.FormSpec:
    raw = validated(FormSchema(), read_yaml(path), path)
    if raw["id"] != path.stem:
        raise PackError(f"{path}: id: '{raw['id']}' must match the file name '{path.stem}'")
    check_form_stages(raw, pack_raw, path)
    try:
        quotes.check_form(raw, pack_raw["policy"]["file"])
    except quotes.QuoteError as exc:
        raise PackError(f"{path}: {exc}") from None
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
        sections.append(model.Section(section["key"], section["title"], tuple(built), section["printed"]))
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
        quote=raw["quote"],
        sections=tuple(sections),
    )
    check_form_fields(spec, path)
    return spec


def load_pack(folder: Path) -> model.Pack:
    path = folder / "pack.yaml"
    raw = validated(PackSchema(), read_yaml(path), path)
    if raw["id"] != folder.name:
        raise PackError(f"{path}: id: '{raw['id']}' must match the folder name '{folder.name}'")
    check_unique_ids(raw, path)
    try:
        quotes.check_pack(raw)
    except quotes.QuoteError as exc:
        raise PackError(f"{path}: {exc}") from None
    forms = tuple(load_form(p, raw) for p in sorted((folder / "forms").glob("*.yaml")))
    form_ids = {f.id for f in forms}
    role_ids = {r.id for r in raw["roles"]}
    check_pack_references(raw, path, form_ids, role_ids)
    check_conference_follow_up(raw, path, forms)
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
        bypasses=tuple(raw.get("bypasses", ())),
        closing_needs=raw.get("closing_needs"),
        conference_follow_up=raw.get("conference_follow_up"),
        stages=tuple(raw["stages"]),
        areas=tuple(raw["areas"]),
        roles=tuple(raw["roles"]),
        sectors=tuple(raw.get("sectors", ())),
        forms=forms,
        excluded=raw.get("excluded"),
        excluded_source=raw.get("excluded_source"),
        excluded_quote=raw.get("excluded_quote", ()),
        annual_report=raw.get("annual_report"),
        annual_report_source=raw.get("annual_report_source"),
        routing=tuple(raw.get("routing", ())),
    )


def load_registry(packs_dir: Path = PACKS_DIR) -> model.Registry:
    folders = sorted(p for p in packs_dir.iterdir() if (p / "pack.yaml").exists())
    if not folders:
        raise PackError(f"{packs_dir}: no packs found (each pack is a folder with pack.yaml)")
    packs = tuple(load_pack(folder) for folder in folders)
    check_registry(packs, packs_dir)
    return model.Registry(packs)


_REGISTRY: model.Registry | None = None


def registry() -> model.Registry:
    """The packs shipped with the service, loaded once per process."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = load_registry()
    return _REGISTRY


__all__ = ["EXCLUDE", "PackError", "load_pack", "load_registry", "registry"]

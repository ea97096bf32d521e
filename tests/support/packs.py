"""A partnership's pack copied and changed, to show that its words (not code) drive a page or a rule."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import yaml

from forms.loader import PACKS_DIR


def pack_copy(tmp_path: Path, change: Callable[[dict], None], pack_id: str = "kirklees") -> Path:
    """The pack's folder copied into tmp_path with `change` applied to its pack.yaml."""
    folder = tmp_path / pack_id
    shutil.copytree(PACKS_DIR / pack_id, folder)
    path = folder / "pack.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(raw)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return folder


def rename_cp_review_unit(raw: dict) -> None:
    """Kirklees's unit renamed and quoted from another sentence of the same policy (quotes are checked at load)."""
    role = next(r for r in raw["roles"] if r["id"] == "cp-review-unit")
    role.update(name="Conference Liaison Office", source="Appendix 3 (a test's wording)", quote="Please refer to the")

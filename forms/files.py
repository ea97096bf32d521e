"""Reading a pack's YAML files, with every error naming the file and the key.

PackError is the one error a bad pack raises. A file that is not YAML, not a mapping, or not the
shape its schema (forms.schemas) gives is refused here with marshmallow's messages flattened
to "key.path: message" lines.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from marshmallow import Schema, ValidationError


class PackError(ValueError):
    """A pack or form file is invalid; the message names the file and the key."""


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


def read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PackError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise PackError(f"{path}: (top level): expected a mapping of keys")
    return data


def validated(schema: Schema, data: dict, path: Path) -> dict:
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise PackError(f"{path}: " + "; ".join(_flatten(exc.messages))) from exc

"""The contact directory: who holds each role, per partnership, by agency or sector and stage.

Business units keep it as CSV (`flask --app app directory export|import`). The columns are
`partnership,role,agency,sector,stage,name,title,email,phone,source`. An import checks every row
against the partnership's pack (roles, sectors and stages must exist) and lists every error by
row number; if any row is wrong nothing is imported. A good file replaces the directory of the
partnerships it names, in one transaction; a contact it names again is updated in place (import_csv).

The sample directory in forms/packs/<pack>/directory.csv is seeded by `flask --app app db-prepare`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate, validates_schema
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forms import normalise, registry
from forms.loader import PACKS_DIR
from forms.model import Registry
from service.casework.models import Contact

COLUMNS = ("partnership", "role", "agency", "sector", "stage", "name", "title", "email", "phone", "source")
PLACE = COLUMNS[:5]  # where a contact sits in the directory, which routing looks up
MAX_ROWS = 5000
MAX_BYTES = 2 * 1024 * 1024


class DirectoryError(ValueError):
    """An import was refused; `errors` lists (row number, message), row 1 being the header."""

    def __init__(self, errors: list[tuple[int, str]]):
        self.errors = errors
        lines = [f"row {row}: {message}" if row else message for row, message in errors]
        super().__init__("the directory was not imported:\n" + "\n".join(lines))


class ContactSchema(Schema):
    class Meta:
        unknown = RAISE

    partnership = fields.String(required=True, validate=validate.Length(min=1))
    role = fields.String(required=True, validate=validate.Length(min=1))
    agency = fields.String(load_default=None, validate=validate.Length(max=300))
    sector = fields.String(load_default=None)
    stage = fields.String(load_default=None)
    name = fields.String(required=True, validate=validate.Length(min=1, max=300))
    title = fields.String(load_default=None, validate=validate.Length(max=500))
    email = fields.Email(load_default=None)
    phone = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9 +()]{3,30}$", error="not a phone number"))
    source = fields.String(load_default=None, validate=validate.Length(max=500))

    @pre_load
    def _blank_is_none(self, data, **kwargs):
        # Through the one normaliser, on one line: a name or an address goes into e-mail headers.
        out, refused = {}, {}
        for key, value in data.items():
            if isinstance(value, str):
                try:
                    value = normalise.text(_unguard(value), one_line=True).strip() or None
                except normalise.TextRefused as exc:
                    refused[key] = [str(exc)]
            out[key] = value
        if refused:
            raise ValidationError(refused)
        return out

    @validates_schema
    def _fits_the_pack(self, data, **kwargs):
        packs: Registry = self.context_registry
        try:
            pack = packs.pack(data["partnership"])
        except KeyError:
            known = ", ".join(p.id for p in packs.packs)
            raise ValidationError(
                f"unknown partnership '{data['partnership']}' (one of {known})", "partnership"
            ) from None
        roles = {r.id for r in pack.roles}
        if data["role"] not in roles:
            raise ValidationError(
                f"{pack.short_name} has no role '{data['role']}' (one of {', '.join(sorted(roles))})", "role"
            )
        sectors = {s.id for s in pack.sectors}
        if data.get("sector") and data["sector"] not in sectors:
            hint = f"one of {', '.join(sorted(sectors))}" if sectors else "the pack lists no sectors"
            raise ValidationError(f"{pack.short_name} has no sector '{data['sector']}' ({hint})", "sector")
        if data.get("stage"):
            try:
                pack.stage(data["stage"])
            except KeyError:
                raise ValidationError(f"{pack.short_name} has no stage '{data['stage']}'", "stage") from None
        if not data.get("email") and not data.get("phone"):
            raise ValidationError("give an email or a phone number", "email")

    @property
    def context_registry(self) -> Registry:
        return getattr(self, "_registry", None) or registry()


# A spreadsheet runs a cell starting with one of these as a formula: exported cells get a leading
# apostrophe (shown by spreadsheets as text), which import takes off again.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _guard(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _unguard(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(_FORMULA_START) else value


def normalise_agency(name: str | None) -> str:
    """Agencies are matched ignoring case, spacing and straight/curly apostrophes."""
    return " ".join((name or "").replace("’", "'").split()).casefold()


@dataclass(frozen=True)
class ImportResult:
    partnerships: tuple[str, ...]
    count: int
    kept: int  # contacts the file names again (same place, same name or address): updated in place
    added: int
    removed: int


def parse_csv(content: bytes | str, *, packs: Registry | None = None, partnership: str | None = None) -> list[dict]:
    """Validated rows, or DirectoryError listing every bad row."""
    if isinstance(content, bytes):
        if len(content) > MAX_BYTES:
            raise DirectoryError([(0, f"the file is larger than {MAX_BYTES // 1024} KiB")])
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DirectoryError([(0, f"the file is not UTF-8 text: {exc}")]) from None
    reader = csv.DictReader(io.StringIO(content, newline=""))
    header = reader.fieldnames or []
    missing = [c for c in COLUMNS if c not in header]
    extra = [c for c in header if c not in COLUMNS]
    if missing or extra:
        problems = ([f"missing columns {missing}"] if missing else []) + ([f"unknown columns {extra}"] if extra else [])
        raise DirectoryError([(1, "; ".join(problems) + f" (expected {','.join(COLUMNS)})")])
    schema = ContactSchema()
    schema._registry = packs
    rows, errors = [], []
    for number, raw in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            errors.append((number, f"more than {MAX_ROWS} rows"))
            break
        if None in raw:
            errors.append((number, "more cells than columns"))
            continue
        try:
            row = schema.load(raw)
        except ValidationError as exc:
            errors.extend((number, f"{key}: {' '.join(msgs)}") for key, msgs in sorted(exc.messages.items()))
            continue
        if partnership and row["partnership"] != partnership:
            errors.append((number, f"partnership: '{row['partnership']}' in a directory for '{partnership}'"))
            continue
        rows.append(row)
    if errors:
        raise DirectoryError(errors)
    if not rows:
        raise DirectoryError([(0, "the file has no contacts")])
    return rows


def import_csv(session: Session, content: bytes | str, *, partnership: str | None = None) -> ImportResult:
    """Replace the directory of every partnership the file names; all or nothing. A contact the file
    names again is updated in place, not deleted and re-added: mail waiting to be sent to them follows
    their new address (service.casework.mail.recipient), as after an edit on the directory page."""
    rows = parse_csv(content, partnership=partnership)
    names = tuple(sorted({r["partnership"] for r in rows}))
    try:
        existing = list(session.scalars(select(Contact).where(Contact.partnership.in_(names)).order_by(Contact.id)))
        same = _same_contacts(existing, rows)
        for contact in set(existing) - set(same.values()):
            session.delete(contact)
        for n, row in enumerate(rows):
            contact = same.get(n)
            if contact is None:
                session.add(Contact(**row))
            else:
                for column, value in row.items():
                    setattr(contact, column, value)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return ImportResult(names, len(rows), len(same), len(rows) - len(same), len(existing) - len(same))


def import_words(result: ImportResult) -> str:
    return f"{result.kept} kept (their details as the file gives them), {result.added} added, {result.removed} removed"


def _same_contacts(existing: list[Contact], rows: list[dict]) -> dict[int, Contact]:
    """Row number -> the contact it names again: the same place in the directory (partnership, role,
    agency, sector, stage) held by the same name or the same address, each contact matched once."""

    def place(values: dict) -> tuple:
        return tuple((values.get(k) or "").lower() for k in PLACE)

    def who(values: dict) -> set[tuple[str, str]]:
        return {(k, values[k].strip().lower()) for k in ("name", "email") if values.get(k)}

    free: dict[tuple, list[Contact]] = {}
    for contact in existing:
        free.setdefault(place({k: getattr(contact, k) for k in PLACE}), []).append(contact)
    found: dict[int, Contact] = {}
    for n, row in enumerate(rows):
        here = free.get(place(row), [])
        match = next((c for c in here if who({"name": c.name, "email": c.email}) & who(row)), None)
        if match is not None:
            found[n] = match
            here.remove(match)
    return found


def export_csv(session: Session, partnership: str | None = None) -> str:
    query = select(Contact).order_by(Contact.partnership, Contact.id)
    if partnership:
        query = query.where(Contact.partnership == partnership)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for contact in session.scalars(query):
        writer.writerow(["" if getattr(contact, c) is None else _guard(str(getattr(contact, c))) for c in COLUMNS])
    return out.getvalue()


def seed(session: Session, packs: Registry | None = None) -> int:
    """Load each pack's sample directory for partnerships that have no contacts yet (idempotent)."""
    packs = packs or registry()
    added = 0
    for pack in packs.packs:
        path = PACKS_DIR / pack.id / "directory.csv"
        if not path.exists():
            continue
        has_any = session.scalar(select(func.count()).select_from(Contact).where(Contact.partnership == pack.id))
        if has_any:
            continue
        rows = parse_csv(path.read_bytes(), packs=packs, partnership=pack.id)
        session.add_all(Contact(**row) for row in rows)
        added += len(rows)
    session.commit()
    return added


def missing_roles(session: Session, pack) -> list[str]:
    """The roles the pack's routing sends to that nobody in its directory holds (routing would record
    the gap on each case, with no address to send to). A rule whose address is an answer on the form
    (Merton's raiser's own line manager, the other party) needs no directory contact."""
    return missing_roles_of(session, [pack])[pack.id]


def missing_roles_of(session: Session, packs: list) -> dict[str, list[str]]:
    """missing_roles() of each pack, {pack id: roles}, from one query (the readiness check asks often)."""
    rows = session.execute(
        select(Contact.partnership, Contact.role).where(Contact.partnership.in_([p.id for p in packs])).distinct()
    )
    held = {tuple(row) for row in rows}
    return {
        pack.id: [
            role
            for role in dict.fromkeys(rule["to"]["role"] for rule in pack.routing if rule["to"]["match"] != "answer")
            if (pack.id, role) not in held
        ]
        for pack in packs
    }


def contacts(session: Session, partnership: str, role: str) -> list[Contact]:
    return list(
        session.scalars(
            select(Contact).where(Contact.partnership == partnership, Contact.role == role).order_by(Contact.id)
        )
    )

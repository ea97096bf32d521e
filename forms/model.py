"""The declarative model of a partnership pack and its forms.

One `FormSpec` per form is the single source of truth: the web form, the validation schema, the
DOCX and PDF documents and the parsers are all derived from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

FIELD_TYPES = ("text", "textarea", "date", "choice", "ticks", "rows")
TIMESCALE_KINDS = ("working_days", "without_delay", "none")

# Case attributes a field can feed; the case service reads form data through these, so a new
# partnership needs no new code to say which answer is the receiving agency or the category.
MAPS_TO = (
    "raiser_name",
    "raiser_role",
    "raiser_contact",
    "raising_agency",
    "receiving_agency",
    "receiving_sector",
    "category",
    "stage",
    "child_name",
    "date_raised",
    "resolution",
    "learning",
    "immediate_risk",
    "earlier_stages",  # what happened at the stages before this record, in the raiser's words
)


@dataclass(frozen=True)
class Timescale:
    """A stage's timescale: the policy's words first; where the service must read them, its reading."""

    kind: str
    days: int | None = None
    words: str | None = None  # the policy's own words, e.g. "within 5 days", "urgently"
    reading: str | None = None  # how the service reads them, e.g. "5 working days"

    def describe(self) -> str:
        if self.words and self.reading:
            return f"“{self.words}” (the policy’s words; this service’s reading: {self.reading})"
        if self.words:
            return f"“{self.words}” (the policy’s words)"
        if self.kind == "working_days":
            unit = "working day" if self.days == 1 else "working days"
            return f"within {self.days} {unit}"
        if self.kind == "without_delay":
            return "without delay"
        return "no timescale set by the policy"


@dataclass(frozen=True)
class Stage:
    id: str
    name: str
    who_acts: str
    timescale: Timescale
    records: str
    source: str
    form: str | None = None
    notifies: str | None = None
    quote: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"Stage {self.id}" if self.id.isdigit() else self.name

    @property
    def title(self) -> str:
        """ "Stage 3: Escalate to ...", unless the policy's own name already says which stage."""
        if not self.id.isdigit() or self.name.lower().startswith("stage"):
            return self.name
        return f"{self.label}: {self.name}"


@dataclass(frozen=True)
class Area:
    id: str
    text: str
    category: str
    source: str


@dataclass(frozen=True)
class Role:
    id: str
    name: str
    source: str
    quote: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sector:
    id: str
    name: str
    source: str
    quote: tuple[str, ...] = ()


@dataclass(frozen=True)
class Phone:
    label: str
    number: str


@dataclass(frozen=True)
class ImmediateRisk:
    """The emergency route: `text` holds only what the policy says; a number the policy does not give
    (999 where it is silent) is the service's, said so in `reading` (forms.quotes checks both)."""

    text: str
    phones: tuple[Phone, ...]
    source: str
    quote: tuple[str, ...] = ()
    reading: str | None = None


@dataclass(frozen=True)
class Bypass:
    """A step the policy itself lets be bypassed, and when (Merton §3.8: unless the child is at immediate risk)."""

    stage: str
    text: str
    source: str
    quote: tuple[str, ...]


@dataclass(frozen=True)
class ClosingNeeds:
    """The record without which a case cannot be closed as resolved: the policy's words first, then
    the service's reading of them (Merton §3.13 asks for the record; holding the close is the reading)."""

    form: str
    source: str
    quote: tuple[str, ...]
    reading: str

    def describe(self, short_name: str) -> str:
        words = " … ".join(self.quote)
        return f"“{words}” ({short_name} {self.source}, the policy’s words; this service’s reading: {self.reading})"


@dataclass(frozen=True)
class Chasers:
    """Reminders to an agency whose response is overdue: how many. No policy asks for them (the
    partnership asked the service for them), so `reading` says what the service does and whose it is;
    `quote` only where a policy speaks of reminders."""

    count: int
    reading: str
    quote: tuple[str, ...] = ()

    def describe(self, days: int) -> str:
        """What the service does, then that it is the service's reading and why."""
        if not self.count:
            return f"This service sends no reminder (this service’s reading: {self.reading})."
        times = "once" if self.count == 1 else "twice" if self.count == 2 else f"{self.count} times"
        return (
            f"When a response is overdue this service sends a reminder giving another {days} working days, "
            f"at most {times} (this service’s reading: {self.reading})."
        )


@dataclass(frozen=True)
class ConferenceFollowUp:
    """The agency's response to a conference escalation: how many working days it is given (the
    policy's words in `response.words`, the service's reading in `response.reading`, the sentence in
    `quote`), and the chasers sent once it is overdue, each giving the same time again."""

    response: Timescale
    source: str
    quote: tuple[str, ...]
    chasers: Chasers

    @property
    def days(self) -> int:
        return self.response.days or 0

    def describe(self, short_name: str) -> str:
        """The policy's words first, then the service's reading, labelled as such."""
        return f"{short_name} {self.source}: {self.response.describe()}"


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    category: str | None = None


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    type: str
    required: bool = False
    hint: str | None = None
    aliases: tuple[str, ...] = ()
    choices: tuple[Choice, ...] = ()
    columns: tuple[Field, ...] = ()
    max_length: int | None = None
    blank_rows: int = 3
    maps_to: str | None = None
    child_detail: bool = False
    source: str | None = None
    past: bool = False  # a date of something that has happened: a date after today is refused

    @property
    def labels(self) -> tuple[str, ...]:
        """Every wording this field is known by, the appendix's first."""
        return (self.label, *self.aliases)

    def choice_label(self, value: str) -> str:
        for choice in self.choices:
            if choice.value == value:
                return choice.label
        raise KeyError(value)


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    fields: tuple[Field, ...]
    printed: bool = True  # False: the title heads the web page only; the document reads as the appendix


@dataclass(frozen=True)
class FormSpec:
    id: str
    partnership: str
    title: str
    short_title: str
    source: str
    derived: bool
    stages: tuple[str, ...]
    carries_child_details: bool
    who_completes: str
    sections: tuple[Section, ...]
    description: str | None = None
    appendix: str | None = None
    process: str = "escalation"
    instructions: tuple[str, ...] = ()
    closing: tuple[str, ...] = ()
    quote: tuple[str, ...] = ()

    @cached_property
    def fields(self) -> tuple[Field, ...]:
        return tuple(f for section in self.sections for f in section.fields)

    def field(self, key: str) -> Field:
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(key)

    def field_for(self, maps_to: str) -> Field | None:
        """The field whose answer feeds a case attribute, if the form has one."""
        return next((f for f in self.fields if f.maps_to == maps_to), None)

    @property
    def provenance(self) -> str | None:
        """Where a derived form comes from, in words for the person filling it in (the spec's
        description explains the derivation to whoever maintains the pack, and stays there)."""
        if not self.derived:
            return None
        return f"The partnership publishes no template for this; it follows the policy at {self.source}."

    def __hash__(self) -> int:
        return hash(self.id)


@dataclass(frozen=True)
class Pack:
    id: str
    name: str
    short_name: str
    reference_prefix: str
    policy_title: str
    policy_file: str
    policy_summary: str
    policy_source: str
    recording: str
    recording_source: str
    immediate_risk: ImmediateRisk
    stages: tuple[Stage, ...]
    areas: tuple[Area, ...]
    roles: tuple[Role, ...]
    sectors: tuple[Sector, ...] = ()
    forms: tuple[FormSpec, ...] = ()
    excluded: str | None = None
    excluded_source: str | None = None
    excluded_quote: tuple[str, ...] = ()
    bypasses: tuple[Bypass, ...] = ()
    closing_needs: ClosingNeeds | None = None
    conference_follow_up: ConferenceFollowUp | None = None
    annual_report: str | None = None
    annual_report_source: str | None = None
    routing: tuple = ()  # routing rules; their shape belongs to service.casework.routing

    def stage(self, stage_id: str) -> Stage:
        for stage in self.stages:
            if stage.id == stage_id:
                return stage
        raise KeyError(stage_id)

    def bypass(self, stage_id: str) -> Bypass | None:
        """The policy's own permission to bypass this stage, if it gives one."""
        return next((b for b in self.bypasses if b.stage == stage_id), None)

    def role_name(self, role_id: str) -> str:
        return next((r.name for r in self.roles if r.id == role_id), role_id)

    def stage_index(self, stage_id: str) -> int:
        return [s.id for s in self.stages].index(stage_id)

    def next_stage(self, stage_id: str | None) -> Stage | None:
        """The stage after `stage_id` in the policy's order; None after the last one, or for no stage."""
        if not stage_id:
            return None
        index = self.stage_index(stage_id)
        return self.stages[index + 1] if index + 1 < len(self.stages) else None

    def form(self, form_id: str) -> FormSpec:
        for form in self.forms:
            if form.id == form_id:
                return form
        raise KeyError(form_id)

    def area(self, area_id: str) -> Area:
        for area in self.areas:
            if area.id == area_id:
                return area
        raise KeyError(area_id)

    def __hash__(self) -> int:
        return hash(self.id)


@dataclass(frozen=True)
class Registry:
    """Every loaded pack, and every form across them, by id."""

    packs: tuple[Pack, ...] = field(default_factory=tuple)

    def pack(self, pack_id: str) -> Pack:
        for pack in self.packs:
            if pack.id == pack_id:
                return pack
        raise KeyError(pack_id)

    @cached_property
    def forms(self) -> dict[str, FormSpec]:
        return {form.id: form for pack in self.packs for form in pack.forms}

    def form(self, form_id: str) -> FormSpec:
        return self.forms[form_id]

    def __hash__(self) -> int:
        return id(self)

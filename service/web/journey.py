"""What a practitioner can do in a partnership, drawn from its pack: the "choose what to do" options.

Raising an escalation at a stage uses the form the policy names for that stage; recording a stage
outcome goes through the case's tracking link (or a form the policy keeps for outcomes); any form
can also be completed on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from forms.model import FormSpec, Pack
from service.casework import recipients


@dataclass(frozen=True)
class Option:
    value: str
    text: str
    hint: str
    form_id: str | None = None
    stage: str | None = None


def outcome_forms(pack: Pack) -> tuple[FormSpec, ...]:
    """Forms whose purpose is to record an outcome: the agreed resolution is a required answer."""
    out = []
    for spec in pack.forms:
        field = spec.field_for("resolution")
        if field is not None and field.required:
            out.append(spec)
    return tuple(out)


def options(pack: Pack) -> list[Option]:
    out = []
    for stage in pack.stages:
        if stage.form:
            spec = pack.form(stage.form)
            out.append(
                Option(
                    value=f"raise:{stage.id}",
                    text=f"Raise a new escalation at {stage.label.lower() if stage.id.isdigit() else stage.label}: {stage.name}",
                    hint=f"Uses the {spec.short_title}. {stage.who_acts}.",
                    form_id=spec.id,
                    stage=stage.id,
                )
            )
    out.append(
        Option(
            value="outcome",
            text="Record the outcome of a stage, or move an escalation to the next stage",
            hint="Use the private tracking link you were given when you submitted the escalation.",
        )
    )
    for spec in pack.forms:
        out.append(
            Option(
                value=f"form:{spec.id}",
                text=f"Complete the {spec.short_title}",
                hint=_hint(pack, spec),
                form_id=spec.id,
            )
        )
    return out


def _hint(pack: Pack, spec: FormSpec) -> str:
    hint = spec.who_completes + "."
    if spec.process == "cp-conference":  # the chair's log (service.conference) is where chairs record them
        copied = recipients.names(recipients.other_recipients(pack, spec))
        hint += (
            " Chairs with a workspace account record conferences in the conference log instead: it sends each"
            " agency's safeguarding lead its letter and chases a late reply. It can be sent from here only by"
            " the chair or the business unit, signed in to the workspace: each row then goes on its own to that"
            f" agency's lead{f', copied to {copied},' if copied else ''} into the same log."
        )
    return hint


def option(pack: Pack, value: str) -> Option | None:
    return next((o for o in options(pack) if o.value == value), None)


def preset_answers(spec: FormSpec, stage: str | None) -> dict:
    """Answers known before the first question: the stage chosen on the "what to do" page."""
    field = spec.field_for("stage")
    if stage and field is not None and field.type == "choice" and stage in {c.value for c in field.choices}:
        return {field.key: stage}
    return {}

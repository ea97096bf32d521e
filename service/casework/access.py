"""Who may send and read which cases, as the domain sees it (the workspace signs people in).

A child protection conference escalation (a form whose process is "cp-conference", Kirklees
Appendix 3: "The child protection conference chair" completes it) is sent only by a signed-in
conference chair or business unit of that partnership, never anonymously. A conference chair reads
the conference escalations of their partnership; the business unit and admins read every case of
theirs. `Reach` is what a member of staff may read, as a condition on the cases table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, false, or_

from forms.model import FormSpec
from service.casework.models import Case

CONFERENCE = "cp-conference"
CONFERENCE_SENDERS = ("conference-chair", "business-unit")
CONFERENCE_READERS_ONLY = "conference-chair"  # reads conference escalations, not every case


def may_send(spec: FormSpec, roles: Iterable[tuple[str | None, str]]) -> bool:
    """Whether someone holding `roles` ((partnership, role) pairs; none when not signed in) may send `spec`."""
    if spec.process != CONFERENCE:
        return True
    return any(partnership == spec.partnership and role in CONFERENCE_SENDERS for partnership, role in roles)


def refusal(spec: FormSpec) -> str:
    return (
        f"The {spec.short_title} is sent by the child protection conference chair or the business unit of the "
        "partnership, signed in to the workspace"
    )


@dataclass(frozen=True)
class Reach:
    """Partnerships whose every case may be read, and those where only conference escalations may."""

    full: tuple[str, ...]
    conference_only: tuple[str, ...] = ()

    @property
    def partnerships(self) -> list[str]:
        return [*self.full, *self.conference_only]

    def condition(self):
        parts = []
        if self.full:
            parts.append(Case.partnership.in_(self.full))
        if self.conference_only:
            parts.append(and_(Case.partnership.in_(self.conference_only), Case.process == CONFERENCE))
        return or_(*parts) if parts else false()

    def allows(self, case: Case) -> bool:
        return case.partnership in self.full or (
            case.partnership in self.conference_only and case.process == CONFERENCE
        )


def where(within: Reach | Iterable[str]):
    """The condition on cases for `within`: a Reach, or a list of partnerships read in full."""
    return within.condition() if isinstance(within, Reach) else Case.partnership.in_(list(within))

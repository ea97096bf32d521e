"""Escalation cases: every submission, by any channel, lands in a case.

Public API (for the web forms, ingestion, the JSON API and the CLI):

    from service.casework import cases

    outcome = cases.submit(session, "nt-appendix-a", data, channel="web")
    outcome.reference        # "NT-2026-0007": readable, per partnership and year
    outcome.tracking_token   # >= 128 bits, given once to the person who raised it (only its hash is kept)
    outcome.routes           # [Routed(name, email, phone, role, agency, rule_id, reason), ...]
    outcome.next_step        # NextStep(text=..., who=..., form_id=..., due=...): the next step in plain words

    # a later submission on the same case (case = a Case or its reference):
    cases.submit(session, "nt-appendix-a", data2, channel="email", raw=eml_bytes,
                 filename="appendix-a.docx", content_type="...", case="NT-2026-0007")

`submit` works in ONE transaction and commits it: it validates `data` with
forms.schema.validate_data, creates the case (or updates the one given), keeps the submission
(channel, the original bytes exactly as received, the canonical data, the form id), reads the case
attributes through each field's `maps_to` (raising and receiving agency, sector, category via the
chosen area's category, stage, immediate risk, resolution, learning...), moves the stage forward,
routes it (service.casework.routing) and writes one outbox row per e-mail recipient (service.casework.outbox). On any
error it rolls back and raises a CaseError subclass whose message says what is wrong; nothing is stored.

Stage moves: a case moves forward one stage at a time, or stays where it is (an updated record).
Passing a stage needs a bypass the pack quotes from its policy (Merton §3.8 only) and the child at
immediate risk; immediate risk alone moves nothing (service.casework.moves records that the
emergency route was shown). Moving backwards or to a stage the policy lacks is refused. A first
submission may open a case at any stage (NT's Appendix A is first used at stage 3): the earlier
stages are recorded as before this record, with what the raiser says happened there. Every move,
by a form or without one (move_stage: staff, API), is routed and notified by moves.notify.

Each part lives in its own module (errors, lookup, submit, stages, queries); this one gathers them.

Other functions: get(session, reference), by_tracking_token(session, token), move_stage(...),
record_outcome(...), list_cases(...), overdue(...), case_view(...) (the case as JSON-ready dict,
each stage with its due date and flags), tracking_view(...) (what the raiser may see).

Times: pass `now` (aware UTC datetime) to fix the clock; dates are counted in England
(service.casework.workdays: the day a stage starts does not count).
"""

from service.casework.channels import SUBMITTED as CHANNELS
from service.casework.errors import (
    CaseError,
    ChildDetailsRefused,
    InvalidData,
    StageMoveRefused,
    UnknownAgency,
    UnknownCase,
    UnknownForm,
    UnknownPartnership,
    UnknownStage,
)
from service.casework.lookup import hash_token
from service.casework.models import MAX_RAW_BYTES
from service.casework.moves import move_stage
from service.casework.moves import record_emergency_route_used as record_emergency_route
from service.casework.queries import (
    Page,
    by_tracking_token,
    case_view,
    count_cases,
    get,
    list_cases,
    overdue,
    stage_view,
    tracking_view,
)
from service.casework.stages import NextStep, next_step, record_outcome
from service.casework.submit import Routed, SubmissionOutcome, submit

__all__ = [
    "CHANNELS",
    "MAX_RAW_BYTES",
    "CaseError",
    "ChildDetailsRefused",
    "InvalidData",
    "NextStep",
    "Page",
    "Routed",
    "StageMoveRefused",
    "SubmissionOutcome",
    "UnknownAgency",
    "UnknownCase",
    "UnknownForm",
    "UnknownPartnership",
    "UnknownStage",
    "by_tracking_token",
    "case_view",
    "count_cases",
    "get",
    "hash_token",
    "list_cases",
    "move_stage",
    "next_step",
    "overdue",
    "record_emergency_route",
    "record_outcome",
    "stage_view",
    "submit",
    "tracking_view",
]

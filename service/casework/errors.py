"""Why a submission or a change to a case was refused: each error's message says what is wrong."""

from __future__ import annotations

from forms.model import FormSpec
from forms.schema import describe_errors


class CaseError(ValueError):
    """A submission or change was refused; the message says what is wrong. Nothing was stored."""


class UnknownPartnership(CaseError):
    pass


class UnknownForm(CaseError):
    pass


class UnknownCase(CaseError):
    pass


class UnknownStage(CaseError):
    pass


class StageMoveRefused(CaseError):
    pass


class InvalidData(CaseError):
    """The answers do not fit the form; `messages` maps each field key to what is wrong."""

    def __init__(self, spec: FormSpec, messages: dict):
        self.form_id, self.messages = spec.id, messages
        super().__init__(f"the answers do not fit the {spec.short_title}: {describe_errors(spec, messages)}")


class ChildDetailsRefused(InvalidData):
    """A form that must carry no child details holds some: `messages` names each field and what it holds."""


class UnknownAgency(CaseError):
    """A submission names an agency the directory has no contact for, where routing needs one."""

"""Refusing child details on the web pages of forms that must carry none (e.g. North Tyneside Appendix A).

The finding is forms.child_details, applied by forms.schema to every channel; here it becomes an
error on the field that holds it, naming what was found, so the page says what to take out.
"""

from __future__ import annotations

from forms.model import FormSpec
from forms.schema import child_detail_errors


def errors(spec: FormSpec, answers: dict) -> dict[str, str]:
    """Field key -> the error naming what the answer holds, for forms that carry no child details."""
    return {key: messages[0] for key, messages in child_detail_errors(spec, answers).items()}

"""What the log's pages say of a partnership's conference escalations, in its pack's words: which
form, who is copied (the form's other recipients: Kirklees, the Child Protection Review Unit), the
response time (the policy's words, then the service's labelled reading) and the chasers."""

from __future__ import annotations

from forms import registry
from service.casework import recipients
from service.conference.log import conference_form


def described(partnership: str) -> dict[str, str]:
    pack = registry().pack(partnership)
    spec = conference_form(pack)
    follow = pack.conference_follow_up
    return {
        "name": pack.name,
        "form": spec.appendix or spec.short_title,
        "copied": recipients.names(recipients.other_recipients(pack, spec)),
        "response": follow.describe(pack.short_name),
        "chasers": follow.chasers.describe(follow.days),
    }

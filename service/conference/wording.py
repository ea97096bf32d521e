"""What the log's pages say of a partnership's conference escalations, in its pack's words: which
form, who is copied (the form's other recipients: Kirklees, the CPRU), the
response time (the policy's words, then the service's labelled reading) and the chasers; and the
warning of overdue responses."""

from __future__ import annotations

from forms import registry
from service.casework import recipients
from service.conference.chasers import OverdueCount
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


def overdue(count: OverdueCount) -> str | None:
    """The log page's warning of overdue responses, or None when there is none."""
    # The chasers go by the shipped timer (deploy/systemd/escalate-chase.timer), not from this page;
    # a row that has had its pack's last chaser gets no more, and the page does not say it will.
    if not count.total:
        return None
    said = "1 agency response is" if count.total == 1 else f"{count.total} agency responses are"
    if not count.chased_out:
        return f"{said} overdue. The service sends their chasers each weekday morning."
    one = count.chased_out == 1
    last = f"had every chaser the service sends, and {'stays' if one else 'stay'} overdue until the agency responds."
    if not count.to_chase:
        return f"{said} overdue. {'It has' if one else 'They have'} {last}"
    chasing = f"The service sends chasers for {count.to_chase} of them each weekday morning"
    return f"{said} overdue. {chasing}; {count.chased_out} {'has' if one else 'have'} {last}"

"""One table of channels: every way a returned file reaches intake becomes a channel a submission may
come by, each such channel has its words for the inbox and the case page, and no page shows a key."""

from __future__ import annotations

import pytest

from service.casework import cases, channels


def test_every_intake_channel_becomes_a_submission_channel():
    assert {r.case_channel for r in channels.RECEIVED.values()} <= set(cases.CHANNELS)
    assert cases.CHANNELS == channels.SUBMITTED


@pytest.mark.parametrize("channel", channels.SUBMITTED)
def test_each_submission_channel_has_words_for_each_page(channel):
    assert channels.name(channel) != channel and channels.received(channel) != channel
    assert "_" not in channels.moved_by(channel) and channels.moved_by(channel) != channel


def test_a_channel_with_no_words_is_shown_as_another_channel():
    assert channels.received_by("smtp") == channels.received_by("imap") == "e-mail"
    assert channels.received_by("pigeon") == "another channel"

"""GRPO stops when the judge stops judging: consecutive steps with too many NaN rewards, counted."""

from __future__ import annotations

import pytest

from reade.errors import JudgeError
from reade.rl.nan_guard import NanGuard


@pytest.mark.parametrize(
    "max_share, max_steps, shares, stops_at",
    [
        (0.5, 3, [1.0, 1.0, 1.0, 1.0], 3),  # all NaN: the third step in a row stops
        (0.5, 3, [1.0, 1.0, 0.0, 1.0, 1.0, 0.6], 6),  # a good step starts the count afresh
        (0.5, 3, [0.5, 0.5, 0.5, 0.5], None),  # at the threshold is not above it
        (0.5, 1, [0.0, 0.75], 2),
        (0.0, 2, [0.0, 0.1, 0.1], 3),  # any NaN at all, twice
        (1.0, 1, [1.0, 1.0, 1.0], None),  # 1.0 never stops
    ],
)
def test_the_run_stops_on_the_last_of_max_steps_steps_above_max_share(max_share, max_steps, shares, stops_at):
    guard = NanGuard(max_share, max_steps)
    stopped = None
    for step, share in enumerate(shares, start=1):
        try:
            guard.check(share, step, {})
        except JudgeError:
            stopped = step
            break
    assert stopped == stops_at


def test_the_message_names_the_step_the_settings_and_the_judges_failures():
    guard = NanGuard(0.5, 2)
    guard.check(1.0, 7, {})
    with pytest.raises(JudgeError) as raised:
        guard.check(0.9, 8, {"connection": 40, "garbage": 2})
    message = str(raised.value)
    for part in ("step 8", "stage.max_nan_share=0.5", "stage.max_nan_steps=2", "90%", "connection: 40, garbage: 2"):
        assert part in message


@pytest.mark.parametrize("max_share, max_steps", [(-0.1, 3), (1.5, 3), (0.5, 0)])
def test_settings_out_of_range_are_refused(max_share, max_steps):
    with pytest.raises(ValueError, match="max_nan"):
        NanGuard(max_share, max_steps)

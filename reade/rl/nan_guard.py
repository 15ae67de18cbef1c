"""Stop GRPO when the judge stops judging: a run whose rewards are mostly NaN trains on nothing.

A reward is NaN where the judge gave no verdict (a server down, an engine out of memory, answers it
could not parse). Those samples leave their groups' statistics, so a few of them cost little; but
when most rewards are NaN for step after step, every advantage is zero and the run spends its steps
learning nothing while its curves look quiet. `NanGuard` counts the consecutive steps whose share of
NaN rewards is above `max_share` and stops the run with the judge's failure reasons once there have
been `max_steps` of them. `max_share=1.0` never stops (a share is never above 1). The count starts
afresh when a run resumes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reade.errors import JudgeError


@dataclass
class NanGuard:
    max_share: float
    max_steps: int
    streak: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_share <= 1.0 or self.max_steps < 1:
            raise ValueError(f"stage.max_nan_share must lie in [0, 1] and stage.max_nan_steps be at least 1, "
                             f"got {self.max_share} and {self.max_steps}")

    def check(self, share: float, step: int, failures: Mapping[str, int]) -> None:
        """Count one step's share of NaN rewards; raise `JudgeError` on the `max_steps`-th step in a row above `max_share`."""
        self.streak = self.streak + 1 if share > self.max_share else 0
        if self.streak < self.max_steps:
            return
        reasons = ", ".join(f"{reason}: {count}" for reason, count in sorted(failures.items())) or "none recorded"
        raise JudgeError(
            f"GRPO stopped at step {step}: more than {self.max_share:.0%} of the rewards were NaN (the judge gave no "
            f"verdict) for {self.streak} steps in a row (stage.max_nan_share={self.max_share}, "
            f"stage.max_nan_steps={self.max_steps}); {share:.0%} at this step. The judge's failures so far: {reasons}. "
            f"Check that the judge can answer (server reachable, model loaded, memory), or raise stage.max_nan_share."
        )

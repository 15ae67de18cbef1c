"""The `reward` group: the weights of the paper's eq. 4 and of the format reward."""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import MISSING


@dataclass
class RewardConfig:
    """Weights of eq. 4 (α ρ γ λ; `lam` is λ) and of the format reward in the GRPO sum; conf/reward/full.yaml
    sets the paper's."""

    _target_: str = "reade.rewards.content.RewardWeights"
    alpha: float = MISSING
    rho: float = MISSING
    gamma: float = MISSING
    lam: float = MISSING
    format: float = MISSING

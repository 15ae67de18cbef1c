"""The `reward` group: the weights of the paper's eq. 4 and of the format reward."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RewardConfig:
    """Weights of eq. 4 (α ρ γ λ; `lam` is λ) and of the format reward in the GRPO sum."""

    _target_: str = "reade.rewards.content.RewardWeights"
    alpha: float = 1.0
    rho: float = 1.0
    gamma: float = 0.8
    lam: float = 0.7
    format: float = 1.0

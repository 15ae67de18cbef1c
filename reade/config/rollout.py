"""The `rollout` group: the engine that samples GRPO's completions."""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import MISSING


@dataclass
class RolloutConfig:
    """A partial: the GRPO module completes it with the stage's sampling settings."""

    _target_: str = MISSING
    _partial_: bool = True


@dataclass
class HFRolloutConfig(RolloutConfig):
    _target_: str = "reade.rl.rollout.hf.HFRollout"


@dataclass
class VLLMRolloutConfig(RolloutConfig):
    """An in-process vLLM engine beside the trainer, fed the policy's weights after every optimizer step."""

    _target_: str = "reade.rl.rollout.vllm.VLLMRollout"
    gpu_memory_utilization: float = 0.3
    max_model_len: int = 4096
    dtype: str = "auto"
    seed: int = "${seed}"  # type: ignore[assignment]
    enforce_eager: bool = False
    max_num_seqs: int = 256
    enable_prefix_caching: bool = True

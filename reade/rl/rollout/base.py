"""What a rollout engine hands the GRPO loop, whichever engine sampled it.

Rows are grouped: the G completions of prompt i are rows i*G .. i*G+G-1, the layout
`group_advantages` expects. Completions are right-padded; the mask keeps every token up to and
including the first end-of-turn token, so the model learns to stop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch
from hydra.utils import get_class
from omegaconf import DictConfig

from reade.errors import ConfigError


@dataclass
class SamplingSettings:
    """How completions are drawn; `temperature` also scales the logits of the policy's log-probs."""

    max_new_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0  # 0: no top-k filter


@dataclass
class Rollouts:
    completion_ids: torch.Tensor  # [N, C] long, right-padded with the pad id; N = prompts * G
    completion_mask: torch.Tensor  # [N, C] long, 1 up to and including the first end-of-turn token
    truncated: torch.Tensor  # [N] bool: no end-of-turn token within max_new_tokens
    texts: list[str]  # the decoded completions, special tokens dropped
    # [N, C] float: log-prob of each sampled token under the sampling policy (temperature-scaled
    # logits), 0 on padding; None when the engine does not report them.
    sampling_logp: torch.Tensor | None = None

    @property
    def lengths(self) -> torch.Tensor:
        return self.completion_mask.sum(-1)  # [N]


def completion_mask(completion_ids: torch.Tensor, eos_token_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(mask [N, C], truncated [N]) for sampled ids: tokens after the first end-of-turn are padding."""
    is_eos = completion_ids == eos_token_id  # [N, C]
    has_eos = is_eos.any(-1)  # [N]
    first_eos = torch.where(has_eos, is_eos.int().argmax(-1), completion_ids.shape[1])  # [N]
    positions = torch.arange(completion_ids.shape[1], device=completion_ids.device)  # [C]
    mask = (positions[None, :] <= first_eos[:, None]).long()  # [N, C]
    return mask, ~has_eos


class RolloutEngine(ABC):
    """Samples one completion per prompt row from the current policy.

    `prompts` is an `InterpreterProcessor` batch (left-padded `input_ids`, `attention_mask`, and the
    media tensors of the conditions) in which each distinct prompt already appears G times in a row:
    the caller repeats them, because media tensors cannot be repeated along the batch dimension.
    """

    name: str
    # Whether prompts may carry conditions (media tensors, camera maps); one that cannot read them is
    # refused before the run starts (`check_conditions`).
    reads_conditions: bool = True

    def __init__(self, sampling: SamplingSettings):
        self.sampling = sampling

    @abstractmethod
    def generate(self, model: torch.nn.Module, processor, prompts: dict[str, torch.Tensor], *, logprobs: bool = False) -> Rollouts:
        """`logprobs`: also return `sampling_logp` (the GRPO loop asks only when μ > 1 needs π_old)."""

    def push_weights(self, model: torch.nn.Module) -> None:
        """Called after every optimizer step: an engine that holds its own copy of the weights updates it."""

    def close(self) -> None:
        """Free what the engine holds (an inference engine, its memory)."""


def check_conditions(cfg: DictConfig) -> None:
    """Refuse, before any work, a stage whose rollout engine cannot read the condition kinds its rows keep.

    The engine itself refuses a batch with conditions, but only at the first such batch: after the
    upstream stages, the model load and the evaluation before training, or steps later when the
    first batches happen to be text.
    """
    kinds = list(cfg.condition.kinds)
    if "rollout" not in cfg.stage.module or not kinds:
        return
    engine = get_class(cfg.rollout._target_)
    if not getattr(engine, "reads_conditions", True):
        raise ConfigError(
            f"rollout: {engine.__name__} samples from token ids alone, so the {kinds} conditions that "
            f"condition={cfg.condition.name} keeps cannot reach it (neither camera-encoder nor image/audio "
            "tower embeddings); use condition=text, or rollout=hf"
        )

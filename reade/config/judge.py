"""The `judge` group: one schema per backend, over what every judge takes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from omegaconf import MISSING


@dataclass
class JudgeConfig:
    """What every judge takes: where verdicts are cached, and how many are committed at once."""

    _target_: str = MISSING
    cache_dir: Optional[str] = None
    commit_every: int = 64


@dataclass
class LexicalJudgeConfig(JudgeConfig):
    _target_: str = "reade.rewards.judges.lexical.LexicalJudge"


@dataclass
class EmbeddingJudgeConfig(JudgeConfig):
    _target_: str = "reade.rewards.judges.embedding.EmbeddingJudge"
    threshold: float = MISSING
    batch_size: int = 16
    device: str = "cpu"
    memory: int = 200_000
    commit_every: int = 256


@dataclass
class ChatJudgeConfig(JudgeConfig):
    """The LLM judges: the model, and the sampling of the one-line answers the judge prompts ask for
    (paper D.4), the same for every backend and so stated here, not in conf/judge/."""

    model: str = MISSING
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 50
    garbage_retries: int = 2


@dataclass
class OpenAIJudgeConfig(ChatJudgeConfig):
    """Any OpenAI-compatible endpoint. The key is read from the variable `api_key_env` names, never stored."""

    _target_: str = "reade.rewards.judges.openai.OpenAIJudge"
    base_url: Optional[str] = MISSING
    api_key_env: str = MISSING
    concurrency: int = MISSING
    timeout_s: float = MISSING
    retries: int = MISSING
    backoff_s: float = MISSING


@dataclass
class HFJudgeConfig(ChatJudgeConfig):
    _target_: str = "reade.rewards.judges.hf.HFJudge"
    batch_size: int = MISSING
    dtype: str = MISSING
    device: str = MISSING
    seed: int = 0


@dataclass
class VLLMJudgeConfig(ChatJudgeConfig):
    _target_: str = "reade.rewards.judges.vllm.VLLMJudge"
    gpu_memory_utilization: float = MISSING
    max_model_len: int = MISSING
    dtype: str = "auto"
    seed: int = 0
    enforce_eager: bool = False

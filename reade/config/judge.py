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
    threshold: float = 0.5
    batch_size: int = 16
    device: str = "cpu"
    memory: int = 200_000
    commit_every: int = 256


@dataclass
class ChatJudgeConfig(JudgeConfig):
    """The LLM judges: the model and the sampling of its one-line answers (paper D.4: 50 tokens)."""

    model: str = MISSING
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 50
    garbage_retries: int = 2


@dataclass
class OpenAIJudgeConfig(ChatJudgeConfig):
    """Any OpenAI-compatible endpoint. The key is read from the variable `api_key_env` names, never stored."""

    _target_: str = "reade.rewards.judges.openai.OpenAIJudge"
    base_url: Optional[str] = None
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 16
    timeout_s: float = 60.0
    retries: int = 3
    backoff_s: float = 1.0


@dataclass
class HFJudgeConfig(ChatJudgeConfig):
    _target_: str = "reade.rewards.judges.hf.HFJudge"
    batch_size: int = 8
    dtype: str = "float32"
    device: str = "cpu"
    seed: int = 0


@dataclass
class VLLMJudgeConfig(ChatJudgeConfig):
    _target_: str = "reade.rewards.judges.vllm.VLLMJudge"
    gpu_memory_utilization: float = 0.3
    max_model_len: int = 4096
    dtype: str = "auto"
    seed: int = 0
    enforce_eager: bool = False

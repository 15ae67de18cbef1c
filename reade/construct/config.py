"""Structured-config schemas of `python -m reade.construct` (conf/construct/), in Hydra's ConfigStore.

The construct tree is separate from the training tree (conf/train.yaml): its `stage` group holds the
construction stages, not the training ones. Each YAML option names its schema first in its defaults
list, as in `reade.config`, so a misspelt key or a value of the wrong type is an error at compose time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


@dataclass
class EndpointConfig:
    """Any OpenAI-compatible endpoint (reade.clients.openai_chat.ChatEndpoint). The key is read from the
    variable `api_key_env` names, never stored. `rpm`: requests per minute at most (None: no pace);
    prices in currency units per million tokens give the run's cost (None: unknown)."""

    _target_: str = "reade.clients.openai_chat.ChatEndpoint"
    model: str = MISSING
    base_url: Optional[str] = None
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 16
    timeout_s: float = 120.0
    retries: int = 3
    backoff_s: float = 1.0
    rpm: Optional[float] = None
    price_input_per_1m: Optional[float] = None
    price_output_per_1m: Optional[float] = None


@dataclass
class CotStageConfig:
    _target_: str = "reade.construct.cot.CotStage"
    retries: int = 2
    frames: int = 4
    temperature: float = 0.0
    max_tokens: int = 1024


@dataclass
class KeyElementsStageConfig:
    _target_: str = "reade.construct.key_elements.KeyElementsStage"
    retries: int = 2
    temperature: float = 0.0
    max_tokens: int = 1024


@dataclass
class SelectStageConfig:
    """No teacher: dedup against `eval_files`, balance and statistics (reade.construct.select)."""

    _target_: str = "reade.construct.select.Selection"
    target: Optional[int] = None
    seed: int = 0
    near_threshold: float = 0.8
    shingle: int = 3
    match_conditions: bool = True


@dataclass
class ConstructConfig:
    """`vision` / `audio`: the endpoints that describe images (identity, depth and pose frames) and audio;
    null skips those conditions with the reason recorded in each row. `concurrency`: rows in flight.
    `eval_files`: the evaluation splits that stage select keeps out of the selection (other stages refuse it)."""

    stage: Any = MISSING
    teacher: EndpointConfig = MISSING
    vision: Optional[EndpointConfig] = None
    audio: Optional[EndpointConfig] = None
    input: str = MISSING
    out_dir: str = MISSING
    eval_files: list[str] = field(default_factory=list)
    concurrency: int = 8
    retry_rejects: bool = False
    progress: bool = True
    task_name: str = "construct"


def register() -> None:
    """Idempotent; called on import. Names are prefixed so that they never shadow the training schemas."""
    store = ConfigStore.instance()
    store.store(name="base_construct", node=ConstructConfig)
    store.store(group="stage", name="base_construct_cot", node=CotStageConfig)
    store.store(group="stage", name="base_construct_key_elements", node=KeyElementsStageConfig)
    store.store(group="stage", name="base_construct_select", node=SelectStageConfig)
    store.store(group="teacher", name="base_endpoint", node=EndpointConfig)


register()

"""The paper's recipes as this repository's configs give them, for the dry plan and the measured parts alike.

Batch sizes, group size, prompt and completion caps are read from the composed `conf/train.yaml`
(conf/stage/sft.yaml and grpo.yaml carry Table 10), not restated here. One length has no config:
stage 1's prompt. Table 10 caps prompts at 1024 tokens and appendix D completions at 768; the SFT
stage bounds prompt + target by `data.max_length` (1024 by default, which would leave a 1024-token
prompt no room for a target), so an SFT row here is 1024 + 768 = 1792 tokens, the paper's longest.
"""

from __future__ import annotations

from dataclasses import dataclass

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

import reade.config  # noqa: F401  (registers the schemas the YAML files name)
from reade.utils.chain import CONF_DIR

from experiments.gpu_readiness.shapes import BACKBONE

SFT_PROMPT_TOKENS = 1024  # Table 10, stage 1 "Max prompt length"
SFT_TARGET_TOKENS = 768  # appendix D, "maximum completion length"
# --tiny: rows as the tiny profiles give them, sequences short enough for a CPU test.
TINY_TOKENS = {"sft": (288, 32), "grpo": (112, 8)}


@dataclass(frozen=True)
class Lengths:
    """One optimizer step's shape: `micro_batches` forward/backward passes of `rows` sequences of
    `prompt` + `completion` tokens; GRPO first samples `generated` completions (prompts x G)."""

    rows: int
    micro_batches: int
    prompt: int
    completion: int
    generated: int = 0

    @property
    def tokens(self) -> int:
        return self.prompt + self.completion


def compose_train(overrides: list[str]) -> DictConfig:
    """conf/train.yaml with `overrides`, as `python -m reade.train` composes it (pass
    `paths.output_dir=...`: there is no Hydra run folder here)."""
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        return compose("train", overrides=overrides)


def stage_overrides(stage: str, size: str, *, trainer: str = "gpu", rollout: str = "hf", lora: bool = False) -> list[str]:
    """The command line of the recipe: `stage=grpo` runs on text prompts with the lexical judge (no
    judge model to load), and starts from the random weights built here (no upstream run); on the
    tiny backbone its completions are cut to TINY_TOKENS."""
    common = [f"stage={stage}", f"backbone={BACKBONE[size]}", f"trainer={trainer}", f"backbone.lora.enabled={lora}"]
    if stage != "grpo":
        return common
    grpo = [*common, f"rollout={rollout}", "condition=text", "judge=lexical", "stage.upstream=null"]
    return [*grpo, f"stage.sampling.max_new_tokens={TINY_TOKENS['grpo'][1]}"] if size == "tiny" else grpo


def lengths(cfg: DictConfig, tiny: bool = False) -> Lengths:
    """The step shape of a composed SFT or GRPO config (tiny: the tiny profile's rows, short prompts)."""
    stage = cfg.stage
    if "group_size" in stage:
        generated = stage.prompts_per_step * stage.group_size
        prompt = TINY_TOKENS["grpo"][0] if tiny else stage.max_prompt_length
        completion = stage.sampling.max_new_tokens
        micro = min(stage.micro_batch_size, generated)
        return Lengths(rows=micro, micro_batches=-(-generated // micro), prompt=prompt, completion=completion,
                       generated=generated)
    prompt, completion = TINY_TOKENS["sft"] if tiny else (SFT_PROMPT_TOKENS, SFT_TARGET_TOKENS)
    return Lengths(rows=stage.batch_size, micro_batches=stage.accumulate_grad_batches, prompt=prompt, completion=completion)

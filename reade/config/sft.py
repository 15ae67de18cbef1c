"""The settings of `stage=sft` (and `sft_no_cot`): paper stage 1.

`SFTSettings` is the stage node and the recipe the module and the DataModule read as it is;
`module` / `datamodule` name their classes and what they take from other config groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from reade.config.recipe import StageSettings


@dataclass
class SFTModuleNode:
    """`reade.lit.sft.SFTModule`, called with the model, its processor and the settings; from other
    groups: the run folder."""

    _target_: str = "reade.lit.sft.SFTModule"
    _partial_: bool = True
    output_dir: Any = "${paths.output_dir}"


@dataclass
class SFTDataModuleNode:
    """`reade.lit.sft.SFTDataModule`, called with the settings; from other groups: the data splits
    and the condition kinds."""

    _target_: str = "reade.lit.sft.SFTDataModule"
    _partial_: bool = True
    data: Any = "${data}"
    kinds: Any = "${condition.kinds}"


@dataclass
class SFTSettings(StageSettings):
    """CoT-guided SFT (paper section 3.1; Table 10, stage 1); conf/stage/sft.yaml sets the recipe."""

    batch_size: int = MISSING
    # The share of training rows whose instruction is left out (the conditions alone remain).
    instruction_dropout: float = MISSING
    # The share of training rows whose conditions all carry a description that become
    # describe-the-reference rows (reade.data.collate.InterpreterCollator).
    describe_fraction: float = MISSING
    # Targets hold the <think> trace before the answer; false: the answer alone (stage=sft_no_cot).
    reasoning: bool = MISSING
    # Training batches of rows of similar token count, in random order (reade.data.grouped_batches):
    # less padding; off by default: on tiny grounding it named fewer description words
    # (experiments/condition_grounding, Part 6, step 1).
    group_by_length: bool = False
    # Module paths left as the starting checkpoint has them (reade.models.freezing), e.g.
    # [visual, audio_tower] after a grounding stage trained the towers.
    frozen: list[str] = field(default_factory=list)
    module: SFTModuleNode = field(default_factory=SFTModuleNode)
    datamodule: SFTDataModuleNode = field(default_factory=SFTDataModuleNode)

"""The settings of `stage=sft` (and `sft_no_cot`): paper stage 1.

`SFTSettings` is the stage node and the recipe the module and the DataModule read as it is;
`module` / `datamodule` name their classes and what they take from other config groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
    """CoT-guided SFT (paper section 3.1; Table 10, stage 1)."""

    name: str = "sft"
    batch_size: int = 6
    accumulate_grad_batches: int = 2
    instruction_dropout: float = 0.4
    # The share of training rows whose conditions all carry a description that become
    # describe-the-reference rows (reade.data.collate.InterpreterCollator): 0 on a pretrained backbone.
    describe_fraction: float = 0.0
    # Targets hold the <think> trace before the answer; false: the answer alone (stage=sft_no_cot).
    reasoning: bool = True
    # Module paths left as the starting checkpoint has them (reade.models.freezing), e.g.
    # [visual, audio_tower] after a grounding stage trained the towers.
    frozen: list[str] = field(default_factory=list)
    module: SFTModuleNode = field(default_factory=SFTModuleNode)
    datamodule: SFTDataModuleNode = field(default_factory=SFTDataModuleNode)

"""Camera encoder pretraining (DESIGN.md section 1, first stage): the DataModule and the LightningModule.

The interpreter sees one camera trajectory and an instruction such as "Describe the camera motion."
and learns to answer with the describer's words for it ("a slow pan left and tilt up"). In the
paper's setting only the camera encoder (ViT + projector) trains: every backbone parameter is frozen,
checked when fit starts, and the optimizer only ever sees the encoder's parameters
(`stage.train_backbone: false`; the tiny profile sets it true, see `CameraPretrainModule`). The loss covers the caption and
its closing <|im_end|> (the processor masks the prompt).

The test loop captions held-out trajectories greedily and scores `eval/camera_motion_acc{tag}`: the
share of captions that name exactly the gold motions with their directions
(`reade.rewards.camera_motion`), with `_single` (one motion or a static camera) and `_combined`
(two motions) beside it. The describer itself, the labeller, would score 1.0 by construction; the
chance-level reference is `data/test_majority_motion_acc`, always answering the commonest training
caption.

With a frozen backbone, Lightning checkpoints hold the encoder and the optimizer only: the backbone
is reloaded from its own folder, so a resumable checkpoint of a 7B run stays small.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

import lightning as L
import torch

from reade.config.camera_pretrain import CameraPretrainSettings
from reade.config.data import DataConfig
from reade.data.camera_captions import synthesize_camera
from reade.data.collate import InterpreterCollator
from reade.data.conditions import read_condition
from reade.data.conditions.camera_motion import describe_camera
from reade.errors import ConfigError, DataError
from reade.lit.eval_rows import all_rows, write_samples
from reade.lit.sft import SFTDataModule
from reade.lit.splits import SplitsDataModule
from reade.models.decoding import greedy_completions
from reade.models.interpreter import InterpreterModel, target_loss
from reade.results.intervals import with_interval
from reade.rewards.camera_motion import camera_motion_correct
from reade.utils.instantiate import build

log = logging.getLogger(__name__)

BACKBONE_PREFIX = "model.thinker."


class CameraPretrainDataModule(SFTDataModule):
    """Camera-to-text splits: each row one camera condition, its target the describer's caption.

    The splits are the stage's own (`settings.data`; its `synthesize` writes them into `train_file`'s
    folder on first use); the `data` group gives the error policy, the row length and the workers. Rows are checked in `load()` like every stage's (a bad camera file stops the
    job naming file, line and field, or is skipped with `on_error=skip`); then each trajectory is
    described, which gives the target (`target`) and the gold motions (`motions`).
    """

    consumer = "camera_pretrain"
    synthesizer = staticmethod(synthesize_camera)

    def __init__(self, *, settings: CameraPretrainSettings, data: DataConfig, processor=None):
        own = settings.data
        SplitsDataModule.__init__(self, {"train": own.train_file, "val": own.val_file, "test": own.test_file}, ["camera"],
                                  data.on_error, own.synthesize)  # not SFTDataModule.__init__: no SFT settings here
        self.settings = settings
        self.data = data
        self.processor = processor

    def load(self) -> None:
        described = set(self.splits)
        super().load()
        for split in set(self.splits) - described:
            self.splits[split] = self.splits[split].map(_describe, desc=f"describing {split} trajectories")

    def data_summary(self) -> dict[str, float]:
        summary = super().data_summary()
        if "train" in self.splits and "test" in self.splits:
            commonest = Counter(tuple(m) for m in self.splits["train"]["motions"]).most_common(1)[0][0]
            test = self.test_rows()
            summary["data/test_majority_motion_acc"] = sum(tuple(m) == commonest for m in test["motions"]) / len(test)
            summary["data/test_combined_rows"] = sum(test["combined"])
        return summary

    def collator(self, *, with_targets: bool, train: bool) -> CameraCaptionCollator:
        return CameraCaptionCollator(self.processor, with_targets=with_targets, max_length=self.data.max_length,
                                     condition_cache_mb=self.data.condition_cache_mb)


def _describe(row: dict[str, Any]) -> dict[str, Any]:
    cameras = [c for c in row["conditions"] if c["kind"] == "camera"]
    if len(cameras) != 1 or len(row["conditions"]) != 1:
        raise DataError(f"sample {row['id']}: camera pretraining needs exactly one condition, a camera trajectory; "
                        f"got {[c['kind'] for c in row['conditions']]}")
    description = describe_camera(read_condition("camera", Path(cameras[0]["path"])))
    return {"target": description.text, "motions": list(description.names), "combined": len(description.motions) > 1}


class CameraCaptionCollator(InterpreterCollator):
    """The interpreter's collator, plus the gold motions of each row for scoring at test time."""

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        batch = super().__call__(rows)
        if not self.with_targets:
            batch["motions"] = [list(row["motions"]) for row in rows]
            batch["combined"] = [bool(row["combined"]) for row in rows]
        return batch


class CameraPretrainModule(L.LightningModule):
    """Cross-entropy on the caption tokens; AdamW + cosine schedule on the encoder.

    `train_backbone=False` (the paper's setting) freezes every backbone parameter, checks it when fit
    starts and keeps the backbone out of Lightning checkpoints. `train_backbone=True` trains the
    thinker too (its LoRA adapters only when `backbone.lora` is on): the tiny profile's choice, since a
    randomly initialised 2-layer thinker is no language model that a frozen-LLM recipe could steer
    (experiments/camera_pretrain_tiny/README.md measures it).
    """

    EVAL_TAGS = ("_before", "")

    def __init__(self, model: torch.nn.Module, processor, *, settings: CameraPretrainSettings, output_dir: str | None = None):
        """`settings` is the stage's recipe as it is (conf/stage/camera_pretrain.yaml); `output_dir` the
        run folder (None: no sample file)."""
        super().__init__()
        if not isinstance(model, InterpreterModel):
            raise ConfigError(
                "stage=camera_pretrain needs a backbone with a camera encoder: set stage.camera_encoder "
                "(backbone.camera_encoder) or start from a checkpoint folder that has camera_encoder.safetensors"
            )
        self.model = model
        self.settings = settings
        if not settings.train_backbone:
            for parameter in model.thinker.parameters():
                parameter.requires_grad_(False)
            model.thinker.eval()  # frozen: no dropout either
        else:
            model.thinker.train()
        for parameter in model.camera_encoder.parameters():
            parameter.requires_grad_(True)
        model.camera_encoder.train()
        self.processor = processor
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.eval_tag = ""
        self.strict_loading = settings.train_backbone  # a frozen backbone is left out of checkpoints; see on_load_checkpoint
        self._eval_rows: list[dict[str, Any]] = []

    def on_fit_start(self) -> None:
        trainable = [name for name, p in self.model.thinker.named_parameters() if p.requires_grad]
        if trainable and not self.settings.train_backbone:
            raise RuntimeError(f"camera_pretrain: backbone parameters would train: {trainable[:5]}")
        if self.settings.train_backbone and not trainable:
            raise RuntimeError("camera_pretrain: train_backbone is set but no backbone parameter requires grad")
        if not all(p.requires_grad for p in self.model.camera_encoder.parameters()):
            raise RuntimeError("camera_pretrain: some camera encoder parameters are frozen")

    def on_train_epoch_start(self) -> None:
        if not self.settings.train_backbone:
            self.model.thinker.eval()

    def _loss(self, batch: dict[str, Any], split: str) -> torch.Tensor:
        loss = target_loss(self.model, **batch)
        batch_size = batch["input_ids"].shape[0]
        self.log(f"{split}/loss", loss, prog_bar=True, batch_size=batch_size, sync_dist=split != "train")
        return loss

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        return self._loss(batch, "train")

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._loss(batch, "val")

    def on_test_epoch_start(self) -> None:
        self._eval_rows = []

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        ids, instructions = batch.pop("ids"), batch.pop("instructions")
        gold, combined = batch.pop("motions"), batch.pop("combined")
        texts = greedy_completions(self.model, self.processor, batch, self.settings.eval.max_new_tokens)
        for sample_id, instruction, text, motions, both in zip(ids, instructions, texts, gold, combined):
            self._eval_rows.append({"id": sample_id, "instruction": instruction, "output": text,
                                    "gold": motions, "combined": both, "correct": camera_motion_correct(text, motions)})

    def on_test_epoch_end(self) -> None:
        rows = all_rows(self._eval_rows)
        singles = [row for row in rows if not row["combined"]]
        right, total = sum(row["correct"] for row in rows), len(rows)
        right_single, total_single = sum(row["correct"] for row in singles), len(singles)
        tag = self.eval_tag
        groups = {"": rows, "_single": singles, "_combined": [row for row in rows if row["combined"]]}
        for name, group in groups.items():
            if group:  # each accuracy with its bootstrap 95 % interval over rows
                hits = [float(row["correct"]) for row in group]
                self.log_dict(with_interval(f"eval/camera_motion_acc{name}{tag}", hits, [1.0] * len(hits)),
                              rank_zero_only=True)
        path = write_samples(self.output_dir, tag, rows) if self.trainer.is_global_zero else None
        if path is not None:
            log.info("camera motion accuracy%s: %d/%d (single %d/%d); outputs in %s", tag, right, total,
                     right_single, total_single, path)

    def summary_lines(self, metrics: dict[str, Any]) -> list[str]:
        def figure(tag: str) -> str:
            acc = metrics.get(f"eval/camera_motion_acc{tag}")
            if acc is None:
                return "n/a"
            single = metrics.get(f"eval/camera_motion_acc_single{tag}")
            return f"{acc:.3f} (single motions {single:.3f})"

        if metrics.get("eval/camera_motion_acc") is None:
            return []
        return [
            "held-out camera captions naming the right motions and directions: "
            f"trained {figure('')}, untrained {figure('_before')}"
        ]

    def configure_optimizers(self) -> dict[str, Any]:
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        encoder = {id(p) for p in self.model.camera_encoder.parameters()}
        if not self.settings.train_backbone and any(id(p) not in encoder for p in trainable):
            raise RuntimeError("camera_pretrain: the optimizer must hold the camera encoder's parameters only")
        optimizer = build(self.settings.optimizer)(trainable)
        scheduler = build(self.settings.scheduler)(optimizer, num_training_steps=self.trainer.estimated_stepping_batches)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if self.settings.train_backbone:
            return
        state = checkpoint["state_dict"]
        for key in [k for k in state if k.startswith(BACKBONE_PREFIX)]:
            del state[key]

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """A frozen-backbone checkpoint loads non-strictly, so the encoder's weights are checked here.
        Under FSDP the strategy has loaded and removed `state_dict` before this hook: not checked."""
        if "state_dict" not in checkpoint:
            return
        expected = {f"model.camera_encoder.{k}" for k in self.model.camera_encoder.state_dict()}
        missing = expected - set(checkpoint["state_dict"])
        if missing:
            raise DataError(f"checkpoint has no camera encoder weights for {sorted(missing)[:3]}...")

"""Stage 1, CoT-guided SFT (paper section 3.1, eq. 1): the DataModule and the LightningModule.

The loss covers the assistant tokens only (`<think>` trace + six-part `<answer>`): the processor
sets every prompt and padding label to -100. The test loop decodes held-out instructions greedily
and counts how many outputs parse as `<think>` + six-part `<answer>` (the format rate).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader

from reade.config.data import DataConfig
from reade.config.sft import SFTSettings
from reade.data.collate import InterpreterCollator
from reade.data.grouped_batches import LengthGroupedBatches
from reade.errors import ConfigError
from reade.lit.eval_rows import all_rows, write_samples
from reade.lit.splits import SplitsDataModule
from reade.models.decoding import greedy_completions
from reade.models.freezing import freeze
from reade.models.interpreter import target_loss
from reade.results.intervals import with_interval
from reade.schema import parse_output
from reade.utils.instantiate import build

log = logging.getLogger(__name__)


class SFTDataModule(SplitsDataModule):
    """Train/val/test splits of SFT samples; the processor comes from the backbone and is attached after loading."""

    def __init__(self, *, settings: SFTSettings, data: DataConfig, kinds: list[str], processor=None):
        self.consumer = self.consumer_of(settings)
        super().__init__({"train": data.train_file, "val": data.val_file, "test": data.test_file}, kinds, data.on_error,
                         data.synthesize)
        self.settings = settings
        self.data = data
        self.processor = processor

    @staticmethod
    def consumer_of(settings: SFTSettings) -> str:
        """The fields its rows need (`REQUIRED_FIELDS`): a think trace only when the targets hold one."""
        return "sft" if settings.reasoning else "sft_answer"

    def _loader(self, split: str, *, train: bool) -> DataLoader:
        if self.processor is None:
            raise RuntimeError("SFTDataModule.processor is unset: attach the backbone's processor before training")
        dataset = self.test_rows() if split == "test" else self.splits[split]
        batch_size = self.settings.batch_size if train else self.settings.eval.batch_size
        grouped = train and self.settings.group_by_length
        return DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=train and not grouped,
            sampler=LengthGroupedBatches(self.token_counts(split), batch_size) if grouped else None,
            collate_fn=self.collator(with_targets=split != "test", train=train),
            num_workers=self.data.num_workers,
            persistent_workers=self.data.num_workers > 0,
        )

    def token_counts(self, split: str) -> list[int]:
        """Each row's tokens, as `reade.train`'s length check counted them (`within_limit`)."""
        if "tokens" not in self.splits[split].column_names:
            raise RuntimeError(f"stage.group_by_length: the {split} rows of {self.files[split]} have no token counts; "
                               "reade.data.lengths.within_limit adds them (reade.train runs it before training)")
        return self.splits[split]["tokens"]

    def test_rows(self):
        """The held-out rows the test loop decodes: the test split, cut to `stage.eval.limit` when that is > 0."""
        dataset, limit = self.splits["test"], self.settings.eval.limit
        return dataset.select(range(min(limit, len(dataset)))) if limit > 0 else dataset

    def collator(self, *, with_targets: bool, train: bool) -> InterpreterCollator:
        return InterpreterCollator(
            self.processor,
            with_targets=with_targets,
            instruction_dropout=self.settings.instruction_dropout if train else 0.0,
            describe_fraction=self.settings.describe_fraction if train else 0.0,
            max_length=self.data.max_length,
            condition_cache_mb=self.data.condition_cache_mb,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader | list:
        return self._loader("val", train=False) if "val" in self.splits else []

    def test_dataloader(self) -> DataLoader:
        if "test" not in self.splits:
            raise ValueError("data.test_file is not set: the format-rate evaluation needs a held-out split")
        return self._loader("test", train=False)


class SFTModule(L.LightningModule):
    """Next-token cross-entropy on the assistant tokens; AdamW + cosine schedule with warm-up."""

    EVAL_TAGS = ("_before", "")

    def __init__(self, model: torch.nn.Module, processor, *, settings: SFTSettings, output_dir: str | None = None):
        """`settings` is the stage's recipe as it is (conf/stage/sft.yaml); `output_dir` the run folder
        (None: no sample file)."""
        super().__init__()
        self.model = model.train()  # from_pretrained returns eval mode; Lightning keeps submodule modes
        if settings.frozen:
            try:
                count = freeze(self.model, list(settings.frozen))
            except ValueError as error:
                raise ConfigError(f"stage.frozen: {error}") from error
            log.info("sft: %d parameter tensors under %s stay as the starting checkpoint has them", count, list(settings.frozen))
        self.settings = settings
        self.processor = processor
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.eval_tag = ""
        self._eval_rows: list[dict[str, Any]] = []
        self.eval_outputs: list[dict[str, Any]] = []  # the last test loop's rows, every rank's, for the caption metrics

    def _loss(self, batch: dict[str, Any], split: str) -> torch.Tensor:
        loss = target_loss(self.model, **batch)
        tokens = (batch["labels"] != -100).sum()
        batch_size = batch["input_ids"].shape[0]
        self.log(f"{split}/loss", loss, prog_bar=True, batch_size=batch_size, sync_dist=split != "train")
        self.log(f"{split}/target_tokens", tokens.float(), batch_size=batch_size, reduce_fx="sum" if split != "train" else "mean")
        return loss

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        return self._loss(batch, "train")

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._loss(batch, "val")

    def on_test_epoch_start(self) -> None:
        self._eval_rows = []

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        ids, instructions = batch.pop("ids"), batch.pop("instructions")
        texts = greedy_completions(self.model, self.processor, batch, self.settings.eval.max_new_tokens)
        for sample_id, instruction, text in zip(ids, instructions, texts):
            parsed = parse_output(text)
            self._eval_rows.append({"id": sample_id, "instruction": instruction, "output": text, "format_ok": parsed.ok,
                                    "answer_ok": parsed.caption is not None, "errors": list(parsed.errors)})

    def on_test_epoch_end(self) -> None:
        """eval/format_rate: outputs with both the <think> and the six-part <answer> format;
        eval/answer_rate: outputs whose six-part <answer> parses, with or without a trace."""
        rows = self.eval_outputs = all_rows(self._eval_rows)
        hits, answers, total = sum(row["format_ok"] for row in rows), sum(row["answer_ok"] for row in rows), len(rows)
        for name, field in (("format_rate", "format_ok"), ("answer_rate", "answer_ok")):  # with 95 % intervals
            ok = [float(row[field]) for row in rows]
            self.log_dict(with_interval(f"eval/{name}{self.eval_tag}", ok, [1.0] * len(ok)), rank_zero_only=True)
        path = write_samples(self.output_dir, self.eval_tag, rows) if self.trainer.is_global_zero else None
        if path is not None:
            log.info("format rate%s: %d/%d (answer alone %d); outputs in %s", self.eval_tag, hits, total, answers, path)

    def summary_lines(self, metrics: dict[str, Any]) -> list[str]:
        rate, untrained = metrics.get("eval/format_rate"), metrics.get("eval/format_rate_before")
        if rate is None:
            return []
        before = f"{untrained:.3f}" if untrained is not None else "n/a"
        lines = [f"held-out format rate (<think> + six-part <answer>): trained {rate:.3f}, untrained {before}"]
        if metrics.get("eval/answer_rate") is not None:
            lines.append(f"held-out six-part <answer> rate (trace or not): trained {metrics['eval/answer_rate']:.3f}")
        return lines

    def configure_optimizers(self) -> dict[str, Any]:
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        optimizer = build(self.settings.optimizer)(trainable)
        scheduler = build(self.settings.scheduler)(optimizer, num_training_steps=self.trainer.estimated_stepping_batches)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

"""Stage 1, CoT-guided SFT (paper section 3.1, eq. 1): the DataModule and the LightningModule.

The loss covers the assistant tokens only (`<think>` trace + six-part `<answer>`): the processor
sets every prompt and padding label to -100. The test loop decodes held-out instructions greedily
and counts how many outputs parse as `<think>` + six-part `<answer>` (the format rate).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Callable, Sequence

import lightning as L
import torch
from torch.utils.data import DataLoader

from reade.data.collate import InterpreterCollator
from reade.errors import ConfigError
from reade.lit.eval_rows import all_rows
from reade.lit.splits import SplitsDataModule
from reade.models.decoding import greedy_completions
from reade.models.freezing import freeze
from reade.results.intervals import with_interval
from reade.schema import parse_output

log = logging.getLogger(__name__)


class SFTDataModule(SplitsDataModule):
    """Train/val/test splits of SFT samples; the processor comes from the backbone and is attached after loading."""

    consumer = "sft"

    def __init__(self, processor=None, *, train_file: str, val_file: str | None, test_file: str | None, kinds: list[str],
                 on_error: str, batch_size: int, eval_batch_size: int, eval_limit: int, instruction_dropout: float,
                 max_length: int, num_workers: int = 0, synthesize: Any = None, reasoning: bool = True,
                 describe_fraction: float = 0.0):
        if not reasoning:
            self.consumer = "sft_answer"  # targets are the answer alone: rows need no think trace
        super().__init__({"train": train_file, "val": val_file, "test": test_file}, kinds, on_error, synthesize)
        self.processor = processor
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.eval_limit = eval_limit
        self.instruction_dropout = instruction_dropout
        self.describe_fraction = describe_fraction
        self.max_length = max_length
        self.num_workers = num_workers

    def _loader(self, split: str, *, train: bool) -> DataLoader:
        if self.processor is None:
            raise RuntimeError("SFTDataModule.processor is unset: attach the backbone's processor before training")
        dataset = self.test_rows() if split == "test" else self.splits[split]
        return DataLoader(
            dataset,
            batch_size=self.batch_size if train else self.eval_batch_size,
            shuffle=train,
            collate_fn=self.collator(with_targets=split != "test", train=train),
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def test_rows(self):
        """The held-out rows the test loop decodes: the test split, cut to `eval_limit` when that is > 0."""
        dataset = self.splits["test"]
        return dataset.select(range(min(self.eval_limit, len(dataset)))) if self.eval_limit > 0 else dataset

    def collator(self, *, with_targets: bool, train: bool) -> InterpreterCollator:
        return InterpreterCollator(
            self.processor,
            with_targets=with_targets,
            instruction_dropout=self.instruction_dropout if train else 0.0,
            describe_fraction=self.describe_fraction if train else 0.0,
            max_length=self.max_length,
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

    def __init__(self, model: torch.nn.Module, processor, *, optimizer: Callable, scheduler: Callable,
                 max_new_tokens: int, samples_path: str | None = None, frozen: Sequence[str] = ()):
        super().__init__()
        self.model = model.train()  # from_pretrained returns eval mode; Lightning keeps submodule modes
        if frozen:
            try:
                count = freeze(self.model, list(frozen))
            except ValueError as error:
                raise ConfigError(f"stage.frozen: {error}") from error
            log.info("sft: %d parameter tensors under %s stay as the starting checkpoint has them", count, list(frozen))
        self.processor = processor
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.max_new_tokens = max_new_tokens
        self.samples_path = samples_path
        self.eval_tag = ""
        self._eval_rows: list[dict[str, Any]] = []
        self.eval_outputs: list[dict[str, Any]] = []  # the last test loop's rows, every rank's, for the caption metrics

    def forward(self, batch: dict[str, Any]) -> Any:
        """No KV cache: nothing reads it, and under activation checkpointing (trainer=fsdp) the
        recomputed forward would append a second copy of every key to it."""
        return self.model(**batch, use_cache=False)

    def _loss(self, batch: dict[str, Any], split: str) -> torch.Tensor:
        loss = self(batch).loss
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
        texts = greedy_completions(self.model, self.processor, batch, self.max_new_tokens)
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
        if self.samples_path and self.trainer.is_global_zero:
            path = Path(self.samples_path.format(tag=self.eval_tag))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
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
        optimizer = self.optimizer_factory(trainable)
        scheduler = self.scheduler_factory(optimizer, num_training_steps=self.trainer.estimated_stepping_batches)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

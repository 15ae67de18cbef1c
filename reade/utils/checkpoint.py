"""Resumable runs: `last.ckpt` always holds the state at the end of training.

Lightning's ModelCheckpoint refreshes `last.ckpt` only at its periodic saves, so a run that stops
between two of them (400 → 410 steps with saves every 200) would resume from the earlier state.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint


class ResumableCheckpoint(ModelCheckpoint):
    def __init__(self, *, every_n_train_steps: int, **kwargs):
        super().__init__(every_n_train_steps=every_n_train_steps, **kwargs)
        self.period = every_n_train_steps

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.save_last and (not self.period or trainer.global_step % self.period):
            trainer.save_checkpoint(Path(self.dirpath) / f"{self.CHECKPOINT_NAME_LAST}{self.FILE_EXTENSION}")

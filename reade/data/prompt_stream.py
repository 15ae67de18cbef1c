"""The GRPO prompt order: an endless, seeded stream of prompt batches that resumes at any batch.

Epoch e is a permutation of the rows drawn from `seed + e`, cut into batches of
`prompts_per_rank * world_size` prompts (the rows that do not fill a last batch wait for a later
epoch, so no batch holds a prompt twice); rank r takes every world_size-th prompt of a batch, so
ranks never share a prompt in one step and each rank's groups stay whole. Batch k depends
only on (seed, k), which is what makes a resumed run see the prompts an unbroken run would have.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import IterableDataset


class PromptStream(IterableDataset):
    def __init__(self, rows: Any, prompts_per_rank: int, *, seed: int, rank: int = 0, world_size: int = 1, start_batch: int = 0):
        if prompts_per_rank < 1:
            raise ValueError(f"prompts_per_rank must be at least 1, got {prompts_per_rank}")
        if len(rows) < prompts_per_rank * world_size:
            raise ValueError(
                f"{len(rows)} training prompts cannot fill one step of {prompts_per_rank} prompts on each of {world_size} rank(s)"
            )
        self.rows = rows
        self.prompts_per_rank = prompts_per_rank
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.start_batch = start_batch

    def indices(self, batch: int) -> list[int]:
        """Row indices of this rank's prompts in global batch `batch`."""
        size = self.prompts_per_rank * self.world_size
        epoch, index = divmod(batch, len(self.rows) // size)
        order = self._permutation(epoch)
        return [int(order[position]) for position in range(index * size + self.rank, (index + 1) * size, self.world_size)]

    def _permutation(self, epoch: int) -> torch.Tensor:
        if getattr(self, "_epoch", None) != epoch:
            generator = torch.Generator().manual_seed(self.seed + epoch)
            self._epoch, self._order = epoch, torch.randperm(len(self.rows), generator=generator)  # [N]
        return self._order

    def __iter__(self) -> Iterator[list[dict[str, Any]]]:
        batch = self.start_batch
        while True:
            yield [self.rows[i] for i in self.indices(batch)]
            batch += 1

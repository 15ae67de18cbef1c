"""Length-grouped batches: whole batches of similar length, each row at most once an epoch, in an
order that changes with the seed and repeats with it."""

from __future__ import annotations

import pytest
import torch
from einops import rearrange

from reade.data.grouped_batches import LengthGroupedBatches

BATCH = 8


def batches_of(sampler: LengthGroupedBatches) -> list[list[int]]:
    return rearrange(torch.tensor(list(sampler)), "(n b) -> n b", b=BATCH).tolist()


def test_whole_batches_of_distinct_rows_with_the_leftover_left_out():
    lengths = torch.randint(10, 300, (1003,), generator=torch.Generator().manual_seed(0)).tolist()
    sampler = LengthGroupedBatches(lengths, BATCH)
    torch.manual_seed(1)
    order = list(sampler)
    assert len(order) == len(sampler) == 1000  # 125 batches; 3 rows sit this epoch out
    assert len(set(order)) == 1000 and set(order) <= set(range(1003))


def test_padding_falls_against_random_batches():
    lengths = torch.randint(10, 300, (2000,), generator=torch.Generator().manual_seed(0)).tolist()

    def padding(batches: list[list[int]]) -> float:
        widths = [max(lengths[i] for i in batch) for batch in batches]
        return 1 - sum(lengths[i] for batch in batches for i in batch) / (BATCH * sum(widths))

    torch.manual_seed(2)
    grouped = padding(batches_of(LengthGroupedBatches(lengths, BATCH)))
    shuffled = padding(rearrange(torch.randperm(2000), "(n b) -> n b", b=BATCH).tolist())
    assert shuffled > 0.3 and grouped < 0.05


def test_the_batch_order_is_random_not_long_to_short():
    """transformers sorts each megabatch longest first; the batches are shuffled after it."""
    lengths = list(range(1, 1601))  # distinct lengths: a batch's longest row names its place in the sort
    torch.manual_seed(3)
    widths = [max(lengths[i] for i in batch) for batch in batches_of(LengthGroupedBatches(lengths, BATCH))]
    falls = sum(a > b for a, b in zip(widths, widths[1:]))
    assert 0.3 < falls / (len(widths) - 1) < 0.7


def test_the_seed_decides_the_order():
    lengths = list(range(100, 164)) * 4
    def order(seed):
        torch.manual_seed(seed)
        return list(LengthGroupedBatches(lengths, BATCH))
    assert order(5) == order(5) != order(6)


def test_fewer_rows_than_a_batch_is_an_error():
    with pytest.raises(ValueError, match="batches of 8 need at least 8 rows; got 3"):
        LengthGroupedBatches([5, 6, 7], BATCH)

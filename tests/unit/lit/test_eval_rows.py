"""The held-out rows of every rank, merged: the split's order back, DistributedSampler's repeats out."""

from __future__ import annotations

import pytest
import torch.distributed as dist

from reade.lit.eval_rows import all_rows, merge_shares


def rows(*ids: int) -> list[dict]:
    return [{"id": f"s{i}", "output": f"out {i}"} for i in ids]


@pytest.mark.parametrize(
    ("shares", "expected"),
    [
        ([rows(0, 1, 2)], rows(0, 1, 2)),  # one process
        ([rows(0, 2), rows(1, 3)], rows(0, 1, 2, 3)),  # 4 rows on 2 ranks: rank r holds rows r, r + 2
        ([rows(0, 2), rows(1, 0)], rows(0, 1, 2)),  # 3 rows on 2 ranks: rank 1 is padded with row 0
        ([rows(0, 3), rows(1, 0), rows(2, 1)], rows(0, 1, 2, 3)),  # 4 rows on 3 ranks: 2 repeats
        ([rows(0), rows(1), rows(2), rows(0)], rows(0, 1, 2)),  # fewer rows than ranks
        ([rows(0, 2, 4), rows(1, 3)], rows(0, 1, 2, 3, 4)),  # uneven shares (a sampler without padding)
        ([[], []], []),
    ],
)
def test_merge_shares(shares, expected):
    assert merge_shares(shares) == expected


def test_the_first_copy_of_a_repeated_row_is_kept():
    first, repeat = {"id": "s0", "output": "a"}, {"id": "s0", "output": "b"}
    assert merge_shares([[first], [repeat]]) == [first]


def test_without_a_process_group_the_rows_are_this_process_rows():
    assert not dist.is_initialized()
    assert all_rows(rows(0, 1, 0)) == rows(0, 1)

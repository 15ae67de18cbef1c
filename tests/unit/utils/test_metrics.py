"""The sweep objective: the metric each stage names, and a clear error when a run did not log it."""

from __future__ import annotations

import pytest
import torch

from reade.errors import ConfigError
from reade.utils.metrics import objective
from tests.conftest import compose_train


@pytest.mark.parametrize(("stage", "metric"), [("camera_pretrain", "eval/camera_motion_acc"), ("sft", "eval/acc_dense"),
                                               ("sft_no_cot", "eval/acc_dense"), ("grpo", "eval/acc_dense"),
                                               ("grpo_depth", "eval/acc_dense"), ("ground", "eval/describe_recall")])
def test_each_stage_names_the_number_it_exists_to_raise(tmp_path, stage, metric):
    assert compose_train([f"stage={stage}"], tmp_path).stage.optimized_metric == metric


def test_the_named_metric_is_returned_and_a_missing_one_is_an_error():
    metrics = {"eval/acc_dense": torch.tensor(0.25), "eval/format_rate": 0.5, "eval/format_rate_ci_low": 0.1, "train/loss": 1.0}
    assert objective(metrics, "eval/acc_dense") == 0.25
    assert objective(metrics, None) is None
    with pytest.raises(ConfigError, match=r"stage.optimized_metric=eval/acc_derived was not logged by this run "
                                          r"\(its evaluation logged: eval/acc_dense, eval/format_rate\)"):
        objective(metrics, "eval/acc_derived")

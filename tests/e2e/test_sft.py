"""SFT end to end on the tiny backbone: a few real optimizer steps with the wandb logger offline,
the HF checkpoint reloaded through the path a real checkpoint takes, and the failures a user meets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from reade.data.conditions import condition_payload, read_condition
from reade.errors import ConfigError, DataError
from reade.models.backbone import load_backbone
from reade.models.from_config import backbone_from_config
from reade.models.interpreter import InterpreterModel
from reade.evaluate import evaluate
from reade.train import train
from reade.utils.instantiate import build
from tests.conftest import ROOT, compose_config, compose_train
from tests.unit.data.test_jsonl import broken_copy

pytestmark = pytest.mark.slow

SMALL = [
    "data.synthesize.n_train=16",
    "data.synthesize.n_val=4",
    "data.synthesize.n_test=4",
    "stage.max_steps=4",
    "stage.batch_size=4",
    "stage.eval.limit=4",
    "stage.eval.batch_size=4",
    "stage.eval.max_new_tokens=12",
    "callbacks.model_checkpoint.every_n_train_steps=2",
    "trainer.log_every_n_steps=1",
    "trainer.enable_progress_bar=false",
]


@pytest.fixture(scope="module")
def small(camera_backbone) -> list[str]:
    """SMALL, starting from the tiny thinker with a camera encoder: the default condition=all includes camera."""
    return [*SMALL, f"stage.init_checkpoint={camera_backbone}"]


def run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "READE_ROOT": str(cwd), "WANDB_SILENT": "true"}
    return subprocess.run([sys.executable, "-m", "reade.train", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, small):
    root = tmp_path_factory.mktemp("run")
    out = root / "out"
    cfg = compose_train([*small, f"paths.root_dir={root}"], out)
    metrics = train(cfg)
    return cfg, out, metrics


def test_metrics_and_artifacts(finished_run):
    cfg, out, metrics = finished_run
    saved = json.loads((out / "metrics.json").read_text())
    assert saved == metrics
    for key in (cfg.stage.optimized_metric, "eval/format_rate", "eval/format_rate_before", "train/loss", "val/loss", "data/train_rows",
                "eval/acc_dense", "eval/quality_camera", "eval/answer_rate"):
        assert key in saved, key
    assert 0.0 <= saved["eval/format_rate"] <= 1.0
    assert saved["data/train_rows"] == 16
    assert (out / "checkpoints" / "last.ckpt").exists()
    assert "name: sft" in (out / "checkpoint" / "reade_config.yaml").read_text()
    rows = [json.loads(line) for line in (out / "eval_samples.jsonl").read_text().splitlines()]
    # one decode, scored once: the test loop's record and the per-aspect scores in one row
    assert len(rows) == 4 and {"id", "output", "format_ok", "errors", "elements", "found", "quality"} <= set(rows[0])
    assert saved["eval/format_rate"] == sum(row["format_ok"] for row in rows) / 4
    assert (out / "eval_samples_before.jsonl").exists()
    for key in ("eval/acc_inferable_dense", "eval/acc_text", "eval/acc_dense_ci_low", "eval/acc_dense_ci_high",
                "eval/format_rate_before_ci_low", "eval/format_rate_before_ci_high"):
        assert key in saved, key
    assert not any(key.endswith("_untrained") or key.endswith("_after") for key in saved)  # one naming


def test_wandb_offline_run_was_written_and_closed(finished_run):
    _, out, _ = finished_run
    runs = list((out / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and list(runs[0].glob("*.wandb"))
    import wandb

    assert wandb.run is None


def test_checkpoint_reloads_through_the_real_checkpoint_path(finished_run, tmp_path):
    _, out, _ = finished_run
    cfg = compose_train(["backbone=local", f"backbone.name_or_path={out / 'checkpoint'}"], tmp_path)
    model, processor = backbone_from_config(cfg.backbone, cfg.paths.cache_dir, list(cfg.condition.kinds))
    again, _ = backbone_from_config(cfg.backbone, cfg.paths.cache_dir, list(cfg.condition.kinds))
    batch = processor(["A red fox in the snow, pan left"], [[]])
    with torch.no_grad():
        torch.testing.assert_close(model(**batch).logits, again(**batch).logits)
    trained = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")["state_dict"]
    reloaded = model.state_dict()
    name = next(k for k in reloaded if "embed_tokens" in k)
    torch.testing.assert_close(reloaded[name], trained[f"model.{name}"])


def test_trained_interpreter_generates_from_all_five_condition_kinds(finished_run):
    """SFT ran with condition=all (nothing dropped, camera included); its checkpoint, thinker and camera
    encoder in one folder, answers a prompt that carries one condition of every kind."""
    cfg, out, metrics = finished_run
    assert list(cfg.condition.kinds) == ["identity", "depth", "pose", "audio", "camera"]
    assert not [key for key in metrics if "_dropped_" in key]
    model, processor = load_backbone(out / "checkpoint")
    assert isinstance(model, InterpreterModel)
    data = Path(cfg.data.train_file).parent
    rows = [json.loads(line) for line in (data / "train.jsonl").read_text().splitlines()]
    found = {c["kind"]: c["path"] for row in rows for c in row["conditions"]}
    assert set(found) == {"identity", "depth", "pose", "audio", "camera"}
    conditions = [(kind, condition_payload(kind, read_condition(kind, data / path))) for kind, path in found.items()]
    batch = processor(["Use every reference: keep the person, follow the depth, pose, sound and camera."], [conditions])
    assert {"pixel_values", "pixel_values_videos", "input_features", "camera_maps"} <= set(batch)
    prompt_length = batch["input_ids"].shape[1]
    with torch.no_grad():
        generated = model.generate(**batch, max_new_tokens=8, do_sample=False)  # [1, prompt + new]
        logits = model(**batch).logits  # [1, prompt, V]
    assert generated.shape[1] > prompt_length and torch.isfinite(logits).all()
    without_camera = processor(["Use every reference: keep the person, follow the depth, pose, sound and camera."],
                               [[c for c in conditions if c[0] != "camera"]])
    with torch.no_grad():
        assert not torch.equal(model(**without_camera).logits[0, -1], logits[0, -1])  # the trajectory is read


def test_camera_conditions_without_a_camera_encoder_are_a_config_error(tmp_path):
    cfg = compose_train([*SMALL, f"paths.root_dir={tmp_path}", "stage.upstream=null", "logger=csv"], tmp_path / "out")
    with pytest.raises(ConfigError, match="no camera encoder: start from a stage=camera_pretrain run"):
        train(cfg)


def test_resume_from_last_checkpoint(finished_run, small, tmp_path):
    _, out, _ = finished_run
    cfg = compose_train(
        [*small, f"paths.root_dir={out.parent}", f"ckpt_path={out / 'checkpoints' / 'last.ckpt'}",
         "stage.max_steps=7", "stage.eval.untrained=false", "logger=csv"],
        tmp_path,
    )
    metrics = train(cfg)
    assert "eval/format_rate_before" not in metrics
    resumed = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")
    assert resumed["global_step"] == 7  # the end of training, not the last periodic save (step 6)


def test_resume_in_its_own_folder_is_the_same_run(small, tmp_path):
    """The README's resume line reloads the launch's overrides (4 eval rows, not the default's), keeps
    the launch's .hydra record, continues its wandb run by id, may raise max_steps, and refuses any
    other change with the difference named, before anything is written."""
    run = tmp_path / "run"
    launch = run_cli([*small, f"hydra.run.dir={run}", "stage.eval.untrained=false"], tmp_path)
    assert launch.returncode == 0, launch.stderr[-3000:]
    record = {name: (run / ".hydra" / name).read_bytes() for name in ("config.yaml", "overrides.yaml", "hydra.yaml")}

    refused = run_cli([f"hydra.run.dir={run}", "ckpt_path=last", "stage.eval.limit=8"], tmp_path)
    console = refused.stdout + refused.stderr
    assert refused.returncode == 2 and "Traceback" not in console
    assert f"resume of {run} refused: the config differs from its record" in console and "stage.eval.limit 4 -> 8" in console
    assert not (run / ".hydra" / "resume-1").exists()

    resumed = run_cli([f"hydra.run.dir={run}", "ckpt_path=last", "stage.max_steps=6"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert {name: (run / ".hydra" / name).read_bytes() for name in record} == record
    again = OmegaConf.load(run / ".hydra" / "resume-1" / "config.yaml")
    assert (again.stage.max_steps, again.stage.eval.limit, again.data.synthesize.n_train, again.ckpt_path) == (6, 4, 16, "last")
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")
    assert checkpoint["global_step"] == 6
    assert len((run / "eval_samples.jsonl").read_text().splitlines()) == 4  # the launch's eval limit
    wandb_runs = sorted((run / "wandb").glob("offline-run-*"))
    assert len(wandb_runs) == 2 and len({folder.name.rsplit("-", 1)[1] for folder in wandb_runs}) == 1


def test_too_long_rows_are_a_data_error_naming_file_and_line_before_training(synthetic_dir, small, tmp_path):
    cfg = compose_train(
        [*small, f"paths.root_dir={tmp_path}", "data.max_length=64", "logger=csv", "stage.eval.untrained=false"],
        tmp_path / "out",
    )
    with pytest.raises(DataError, match=r"train.jsonl:1: tokens: \d+ prompt \+ \d+ target tokens exceed data.max_length=64"):
        train(cfg)
    assert not (tmp_path / "out" / "checkpoints").exists()


def test_resolves_for_the_paper_backbone(tmp_path):
    result = run_cli(["backbone=qwen2_5_omni_7b", "stage=sft", "trainer=gpu", "--cfg", "job", "--resolve"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "name_or_path: Qwen/Qwen2.5-Omni-7B" in result.stdout and "lr: 1.0e-05" in result.stdout


def test_bad_data_stops_with_one_message_per_problem(synthetic_dir, tmp_path):
    path, where = broken_copy(synthetic_dir, tmp_path)
    result = run_cli(
        ["data=jsonl", f"data.train_file={path}", "logger=csv", "stage.max_steps=1"], tmp_path
    )
    console = result.stdout + result.stderr
    assert result.returncode == 2
    assert "Traceback" not in console
    for line in where.values():
        assert console.count(f"{path}:{line}:") == 1


def test_typo_in_override_is_rejected_before_anything_runs(tmp_path):
    result = run_cli(["+stage.optimizer.lrr=1"], tmp_path)
    assert result.returncode == 2
    assert "did you mean stage.optimizer.lr?" in result.stdout + result.stderr


@pytest.mark.gpu
def test_sft_bf16_on_cuda(small, tmp_path):
    assert torch.cuda.is_available(), "the gpu marker needs a CUDA device"
    cfg = compose_train([*small, "trainer=gpu", f"paths.root_dir={tmp_path}", "logger=csv"], tmp_path / "out")
    metrics = train(cfg)
    assert torch.isfinite(torch.tensor(metrics["train/loss"]))
    assert "eval/format_rate" in metrics


def test_sft_without_the_reasoning_trace_learns_the_answer_alone(tmp_path, small):
    """stage=sft_no_cot (the no-CoT ablation's start on the tiny default): targets are <answer> blocks
    without a <think> trace, and the run reports how often its outputs hold a six-part answer."""
    cfg = compose_train([*small, "stage=sft_no_cot", f"paths.root_dir={tmp_path}"], tmp_path / "out")
    datamodule = build(cfg.stage.datamodule)(settings=OmegaConf.to_object(cfg.stage))
    datamodule.load()
    targets = datamodule.splits["train"]["target"]
    assert all(t.startswith("<answer>\n1. Dense caption:") and "<think>" not in t for t in targets)
    metrics = train(cfg)
    assert 0.0 <= metrics["eval/answer_rate"] <= 1.0 and "eval/answer_rate_before" in metrics
    assert "name: sft_no_cot" in (tmp_path / "out" / "checkpoint" / "reade_config.yaml").read_text()


def test_the_trained_run_is_evaluated_per_aspect(finished_run, tmp_path):
    """`reade.evaluate` on the SFT run folder (thinker + camera encoder, every condition kind)."""
    cfg, out, _ = finished_run
    data = [o for o in SMALL if o.startswith("data.")]
    eval_cfg = compose_config("evaluate", [*data, f"paths.root_dir={cfg.paths.root_dir}", f"checkpoint={out}",
                                           "judge=lexical", "logger=csv", "max_new_tokens=12", "limit=4"], tmp_path)
    metrics = evaluate(eval_cfg)
    assert metrics["eval/samples"] == 4 and 0.0 <= metrics["eval/acc_dense"] <= 1.0
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
    trained = json.loads((tmp_path / "checkpoint.json").read_text())["trained"]  # the report places it by this
    assert trained["task"] == "train" and trained["choices"]["stage"] == "sft"


def test_frozen_towers_keep_the_starting_weights(tmp_path, small, camera_backbone):
    """stage.frozen=[visual, audio_tower]: the towers leave SFT as the starting checkpoint has them,
    the language model does not; a part that names no module is refused before training."""
    from safetensors.torch import load_file

    cfg = compose_train([*small, "stage.frozen=[visual,audio_tower]", "stage.eval.untrained=false",
                         f"paths.root_dir={tmp_path}"], tmp_path / "out")
    train(cfg)
    before = load_file(Path(camera_backbone) / "model.safetensors")
    after = load_file(tmp_path / "out" / "checkpoint" / "model.safetensors")
    towers = [k for k in before if k.startswith(("visual.", "audio_tower."))]
    language = [k for k in before if k.startswith("model.layers.")]
    assert towers and language
    assert all(torch.equal(before[k], after[k]) for k in towers)
    assert not all(torch.equal(before[k], after[k]) for k in language)
    typo = compose_train([*small, "stage.frozen=[visul]", f"paths.root_dir={tmp_path}"], tmp_path / "typo")
    with pytest.raises(ConfigError, match=r"stage.frozen: \['visul'\] name no parameter"):
        train(typo)

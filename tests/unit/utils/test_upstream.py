"""Stage chaining: which overrides the upstream run inherits, and when a finished run is reused."""

from __future__ import annotations

import fcntl
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from reade.errors import ConfigError
from reade.utils.upstream import (
    DONE,
    identical_cached_run,
    reuse_or_train,
    starting_checkpoint,
    upstream_overrides,
    with_stage_settings,
)
from tests.conftest import compose_train


@pytest.mark.parametrize(
    "task, expected",
    [
        ([], ["stage=sft"]),
        (["stage=grpo", "reward=user", "judge=lexical", "rollout=hf", "ckpt_path=last"], ["stage=sft"]),
        (["stage.max_steps=3", "+stage.beta=0", "seed=1", "backbone.seed=2"], ["seed=1", "backbone.seed=2", "stage=sft"]),
        (["data.synthesize.n_train=64", "condition=depth"], ["data.synthesize.n_train=64", "condition=depth", "stage=sft"]),
    ],
)
def test_upstream_inherits_everything_but_the_downstream_stage(task, expected):
    assert upstream_overrides(task, "sft") == expected


def test_camera_pretraining_is_shared_across_condition_and_data_choices():
    task = ["condition=camera", "data.synthesize.n_train=64", "seed=1", "+experiment=ablation_no_cot"]
    assert upstream_overrides(task, "camera_pretrain") == ["seed=1", "+experiment=ablation_no_cot", "stage=camera_pretrain"]


class FakeRun:
    """Stands in for `reade.train.train`: records the upstream configs and writes a checkpoint folder."""

    def __init__(self, fail: bool = False):
        self.configs = []
        self.fail = fail

    def __call__(self, cfg):
        self.configs.append(cfg)
        folder = __import__("pathlib").Path(cfg.paths.output_dir) / "checkpoint"
        folder.mkdir(parents=True)
        if self.fail:
            raise KeyboardInterrupt
        (folder / "config.json").write_text("{}")
        (folder.parent / "metrics.json").write_text('{"eval/format_rate": 0.5}')
        return {"eval/format_rate": 0.5}


def grpo_config(tmp_path, *overrides):
    return compose_train(["stage=grpo", f"paths.root_dir={tmp_path}", *overrides], output_dir=tmp_path / "run")


def test_a_finished_upstream_run_is_reused(tmp_path):
    run = FakeRun()
    first = starting_checkpoint(grpo_config(tmp_path), run)
    again = starting_checkpoint(grpo_config(tmp_path, "reward=user", "stage.max_steps=5"), run)
    assert first == again and len(run.configs) == 1
    [upstream] = run.configs
    assert upstream.stage.name == "sft" and upstream.stage.max_steps == 3000  # the tiny SFT profile
    assert upstream.paths.output_dir == str((tmp_path / ".cache" / "stages").joinpath(first.split("/")[-2]))
    other = starting_checkpoint(grpo_config(tmp_path, "seed=7"), run)  # another SFT config: another run
    assert other != first and len(run.configs) == 2


def test_an_interrupted_upstream_run_is_never_reused(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        starting_checkpoint(grpo_config(tmp_path), FakeRun(fail=True))
    [folder] = (tmp_path / ".cache" / "stages").glob("sft-*[!k]")
    assert not (folder / DONE).exists()
    run = FakeRun()
    starting_checkpoint(grpo_config(tmp_path), run)
    assert len(run.configs) == 1 and (folder / DONE).exists()


def test_explicit_checkpoint_must_be_a_checkpoint_folder(tmp_path):
    with pytest.raises(ConfigError, match="no config.json"):
        starting_checkpoint(grpo_config(tmp_path, f"stage.init_checkpoint={tmp_path}"), FakeRun())
    (tmp_path / "config.json").write_text("{}")
    assert starting_checkpoint(grpo_config(tmp_path, f"stage.init_checkpoint={tmp_path}"), FakeRun()) == str(tmp_path)


def test_a_stage_without_upstream_starts_from_the_backbone(tmp_path):
    cfg = compose_train([f"paths.root_dir={tmp_path}", "condition=text"], output_dir=tmp_path / "run")
    assert starting_checkpoint(cfg, FakeRun()) is None


@pytest.mark.parametrize(("condition", "upstream"), [("all", "camera_pretrain"), ("camera", "camera_pretrain"),
                                                     ("depth", None), ("text", None)])
def test_sft_with_camera_conditions_starts_from_camera_pretraining(tmp_path, condition, upstream):
    cfg = compose_train([f"paths.root_dir={tmp_path}", f"condition={condition}"], output_dir=tmp_path / "run")
    assert cfg.stage.upstream == upstream
    assert compose_train([f"paths.root_dir={tmp_path}", f"condition={condition}", "stage=camera_pretrain"]).stage.upstream is None
    assert compose_train([f"paths.root_dir={tmp_path}", f"condition={condition}", "stage=grpo"]).stage.upstream == "sft"


def test_an_experiments_stage_settings_stay_with_its_own_stage(tmp_path):
    """ablation_no_cot's jobs (one per reward subset) start from one answer-only SFT run, whose stage
    node is plain `stage=sft_no_cot`: the GRPO settings of the experiment and its strategy (among them
    `stage.upstream: sft_no_cot`, which would make the SFT run its own upstream) do not leak into it."""
    run = FakeRun()
    folders = {starting_checkpoint(grpo_config(tmp_path, "+experiment=ablation_no_cot", f"reward={reward}"), run)
               for reward in ("user", "user_detail", "full")}
    assert len(folders) == 1 and len(run.configs) == 1
    [upstream] = run.configs
    plain = compose_train(["stage=sft_no_cot", f"paths.root_dir={tmp_path}"], output_dir=tmp_path / "run")
    assert OmegaConf.to_container(upstream.stage) == OmegaConf.to_container(plain.stage)
    assert upstream.stage.name == "sft_no_cot" and upstream.stage.reasoning is False
    assert upstream.stage.upstream == "camera_pretrain"  # condition=all: the camera encoder's stage, not itself


def test_strategies_start_from_the_sft_run_their_names_say(tmp_path):
    run = FakeRun()
    cot = starting_checkpoint(grpo_config(tmp_path, "+experiment=learning_strategy", "+strategy=cot_grpo"), run)
    no_cot = starting_checkpoint(grpo_config(tmp_path, "+experiment=learning_strategy", "+strategy=grpo_only"), run)
    assert [cfg.stage.name for cfg in run.configs] == ["sft", "sft_no_cot"]
    assert "/sft-" in cot and "/sft_no_cot-" in no_cot


def strategy_job(tmp_path, strategy, *overrides):
    return compose_train(["+experiment=learning_strategy", f"+strategy={strategy}", f"paths.root_dir={tmp_path}", *overrides],
                         output_dir=tmp_path / strategy)


def test_a_stage_run_alone_and_the_same_stage_as_an_upstream_train_once(tmp_path):
    """learning_strategy's cot_only row (SFT) and its cot_grpo row (GRPO from SFT) share one SFT run,
    in either order; the cache entry is hard links to the first run's files."""
    run, reused = FakeRun(), []
    cot_only = strategy_job(tmp_path, "cot_only")
    assert reuse_or_train(cot_only, run, reused.append) == {"eval/format_rate": 0.5}
    folder = identical_cached_run(cot_only)
    assert (folder / DONE).is_file() and len(run.configs) == 1
    published, own = folder / "checkpoint" / "config.json", tmp_path / "cot_only" / "checkpoint" / "config.json"
    assert published.stat().st_ino == own.stat().st_ino
    grpo = strategy_job(tmp_path, "cot_grpo")
    assert starting_checkpoint(grpo, run) == str(folder / "checkpoint") and len(run.configs) == 1
    reuse_or_train(strategy_job(tmp_path, "cot_only"), run, reused.append)
    assert reused == [folder] and len(run.configs) == 1


def test_a_job_with_its_own_stage_settings_is_not_shared(tmp_path):
    run = FakeRun()
    job = strategy_job(tmp_path, "cot_only", "stage.max_steps=3")
    assert identical_cached_run(job) is None
    reuse_or_train(job, run, lambda folder: pytest.fail("reused a run with other stage settings"))
    assert len(run.configs) == 1 and not (tmp_path / ".cache" / "stages").exists()


def test_stage_settings_reach_a_stage_wherever_it_runs(tmp_path):
    """`stage_settings.sft` shortens SFT both as cot_only's own stage and as cot_grpo's upstream, and
    the two still share one run; the same key on the command line, or a typo, is an error."""
    short = "+stage_settings.sft={max_steps:4,eval:{limit:2}}"
    run = FakeRun()
    starting_checkpoint(strategy_job(tmp_path, "cot_grpo", short), run)
    [upstream] = run.configs
    assert (upstream.stage.name, upstream.stage.max_steps, upstream.stage.eval.limit) == ("sft", 4, 2)
    cot_only = with_stage_settings(strategy_job(tmp_path, "cot_only", short))
    assert (cot_only.stage.max_steps, cot_only.stage.eval.limit) == (4, 2)
    assert identical_cached_run(cot_only) == Path(upstream.paths.output_dir)
    with pytest.raises(ConfigError, match="stage.max_steps is set on the command line and in stage_settings.sft"):
        with_stage_settings(strategy_job(tmp_path, "cot_only", short, "stage.max_steps=7"))
    with pytest.raises(ConfigError, match="stage_settings.sft: Key 'max_stpes' not in 'SFTStageConfig'"):
        starting_checkpoint(strategy_job(tmp_path, "cot_grpo", "+stage_settings.sft={max_stpes:4}"), run)


def test_a_ddp_rank_beside_rank_0_never_takes_the_lock(tmp_path, monkeypatch):
    """Lightning starts ranks 1.. by running the job again while rank 0 holds the stage-cache lock
    and waits for them: they must train beside it (no lock, no marker) or read a finished run."""
    grpo = strategy_job(tmp_path, "cot_grpo")
    sft = strategy_job(tmp_path, "cot_only")
    folder = identical_cached_run(sft)
    folder.parent.mkdir(parents=True)
    lock = folder.with_suffix(".lock").open("w")
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # rank 0 is training the SFT run
    monkeypatch.setenv("LOCAL_RANK", "1")
    run = FakeRun()
    assert starting_checkpoint(grpo, run) == str(folder / "checkpoint") and len(run.configs) == 1
    assert reuse_or_train(sft, FakeRun(), lambda f: pytest.fail("rank 1 links nothing")) == {"eval/format_rate": 0.5}
    assert not (folder / DONE).exists()  # the marker is rank 0's to write
    (folder / DONE).write_text("done")
    assert reuse_or_train(sft, FakeRun(fail=True), lambda f: pytest.fail("rank 1 links nothing")) == {"eval/format_rate": 0.5}

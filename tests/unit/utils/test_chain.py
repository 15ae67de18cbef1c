"""Stage chaining: the plan a job prints, which overrides an upstream run inherits, and when a
finished run is reused."""

from __future__ import annotations

import fcntl
from pathlib import Path

import pytest
from omegaconf import OmegaConf, open_dict

from reade.errors import ConfigError
from reade.models.backbone import RUN_CONFIG_FILE
from reade.utils.chain import (
    job_plan,
    plan_lines,
    run_plan,
    shown_plan,
    starting_checkpoint,
    upstream_overrides,
    with_stage_settings,
)
from reade.utils.stage_cache import DONE
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
    """Stands in for `reade.train.train`: asks for its starting folder (which trains its upstream),
    records its config and writes a checkpoint folder."""

    def __init__(self, fail: bool = False):
        self.configs = []
        self.fail = fail

    def __call__(self, cfg, start):
        start()
        self.configs.append(cfg)
        folder = Path(cfg.paths.output_dir) / "checkpoint"
        folder.mkdir(parents=True, exist_ok=True)  # a DDP rank trains into rank 0's folder
        if self.fail:
            raise KeyboardInterrupt
        (folder / "config.json").write_text("{}")
        (folder.parent / "metrics.json").write_text('{"eval/format_rate": 0.5}')
        return {"eval/format_rate": 0.5}

    def stages(self):
        return [cfg.stage.name for cfg in self.configs]

    def of(self, stage):
        return [cfg for cfg in self.configs if cfg.stage.name == stage]


def grpo_config(tmp_path, *overrides):
    return compose_train(["stage=grpo", f"paths.root_dir={tmp_path}", *overrides], output_dir=tmp_path / "run")


def start(cfg, run):
    """The folder the job `cfg` composes starts from, its upstream trained by `run` when not cached."""
    return starting_checkpoint(job_plan(cfg), run)


def cached(cfg):
    """The stage-cache folder of the job's own run, when its config is exactly a cached run's."""
    return job_plan(cfg)[-1].cache


def test_a_finished_upstream_run_is_reused(tmp_path):
    run = FakeRun()
    first = start(grpo_config(tmp_path), run)
    again = start(grpo_config(tmp_path, "reward=user", "stage.max_steps=5"), run)
    assert first == again and run.stages() == ["ground", "sft"]
    [upstream] = run.of("sft")
    assert upstream.stage.max_steps == 3000  # the tiny SFT profile
    assert upstream.paths.output_dir == str((tmp_path / ".cache" / "stages").joinpath(first.split("/")[-2]))
    other = start(grpo_config(tmp_path, "seed=7"), run)  # the seed is every stage's: the whole chain again
    assert other != first and run.stages() == ["ground", "sft"] * 2


def test_an_interrupted_upstream_run_is_never_reused(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        start(grpo_config(tmp_path), FakeRun(fail=True))  # killed in the chain's first stage
    [folder] = (tmp_path / ".cache" / "stages").glob("ground-*[!k]")
    assert not (folder / DONE).exists()
    run = FakeRun()
    start(grpo_config(tmp_path), run)
    assert run.stages() == ["ground", "sft"] and (folder / DONE).exists()


def test_explicit_checkpoint_must_be_a_checkpoint_folder(tmp_path):
    with pytest.raises(ConfigError, match="no config.json"):
        start(grpo_config(tmp_path, f"stage.init_checkpoint={tmp_path}"), FakeRun())
    (tmp_path / "config.json").write_text("{}")
    assert start(grpo_config(tmp_path, f"stage.init_checkpoint={tmp_path}"), FakeRun()) == str(tmp_path)


def test_a_stage_without_upstream_starts_from_the_backbone(tmp_path):
    cfg = compose_train([f"paths.root_dir={tmp_path}", "condition=text"], output_dir=tmp_path / "run")
    assert start(cfg, FakeRun()) is None


@pytest.mark.parametrize(("condition", "upstream"), [("all", "ground"), ("camera", "camera_pretrain"),
                                                     ("depth", "ground"), ("text", None)])
def test_tiny_sft_starts_from_grounding_where_a_random_tower_reads_its_kinds(tmp_path, condition, upstream):
    """Random towers (identity, depth, pose, audio) are grounded first; the camera is grounded by its
    encoder's stage; text has nothing to ground."""
    cfg = compose_train([f"paths.root_dir={tmp_path}", f"condition={condition}"], output_dir=tmp_path / "run")
    assert cfg.stage.upstream == upstream
    assert compose_train([f"paths.root_dir={tmp_path}", f"condition={condition}", "stage=camera_pretrain"]).stage.upstream is None
    assert compose_train([f"paths.root_dir={tmp_path}", f"condition={condition}", "stage=grpo"]).stage.upstream == "sft"


def test_an_experiments_stage_settings_stay_with_its_own_stage(tmp_path):
    """ablation_no_cot's jobs (one per reward subset) start from one answer-only SFT run, whose stage
    node is plain `stage=sft_no_cot`: the GRPO settings of the experiment and its strategy (among them
    `stage.upstream: sft_no_cot`, which would make the SFT run its own upstream) do not leak into it."""
    run = FakeRun()
    folders = {start(grpo_config(tmp_path, "+experiment=ablation_no_cot", f"reward={reward}"), run)
               for reward in ("user", "user_detail", "full")}
    assert len(folders) == 1 and run.stages() == ["ground", "sft_no_cot"]
    [upstream] = run.of("sft_no_cot")
    plain = compose_train(["stage=sft_no_cot", f"paths.root_dir={tmp_path}"], output_dir=tmp_path / "run")
    assert OmegaConf.to_container(upstream.stage) == OmegaConf.to_container(plain.stage)
    assert upstream.stage.name == "sft_no_cot" and upstream.stage.reasoning is False
    assert upstream.stage.upstream == "ground"  # condition=all on the tiny backbone: grounding, not itself


def test_strategies_start_from_the_sft_run_their_names_say(tmp_path):
    run = FakeRun()
    cot = start(grpo_config(tmp_path, "+experiment=learning_strategy", "+strategy=cot_grpo"), run)
    no_cot = start(grpo_config(tmp_path, "+experiment=learning_strategy", "+strategy=grpo_only"), run)
    assert run.stages() == ["ground", "sft", "sft_no_cot"]  # one grounding run for both
    assert "/sft-" in cot and "/sft_no_cot-" in no_cot


def strategy_job(tmp_path, strategy, *overrides):
    return compose_train(["+experiment=learning_strategy", f"+strategy={strategy}", f"paths.root_dir={tmp_path}", *overrides],
                         output_dir=tmp_path / strategy)


def test_a_stage_run_alone_and_the_same_stage_as_an_upstream_train_once(tmp_path):
    """learning_strategy's cot_only row (SFT) and its cot_grpo row (GRPO from SFT) share one SFT run,
    in either order; the cache entry is hard links to the first run's files."""
    run, reused = FakeRun(), []
    cot_only = strategy_job(tmp_path, "cot_only")
    assert run_plan(job_plan(cot_only), run, reused.append) == {"eval/format_rate": 0.5}
    folder = cached(cot_only)
    assert (folder / DONE).is_file() and run.stages() == ["ground", "sft"]
    published, own = folder / "checkpoint" / "config.json", tmp_path / "cot_only" / "checkpoint" / "config.json"
    assert published.stat().st_ino == own.stat().st_ino
    grpo = strategy_job(tmp_path, "cot_grpo")
    assert start(grpo, run) == str(folder / "checkpoint") and len(run.configs) == 2
    run_plan(job_plan(strategy_job(tmp_path, "cot_only")), run, reused.append)
    assert reused == [folder] and len(run.configs) == 2


def test_the_no_cot_sft_rows_share_grpo_onlys_start_or_train_longer_from_the_same_grounding(tmp_path):
    """Table 6's no-CoT SFT at equal steps is the very run GRPO-only starts from; at equal target
    tokens it is another run of the same stage with more steps, after the same grounding run."""
    run, reused = FakeRun(), []
    grpo_start = start(strategy_job(tmp_path, "grpo_only"), run)
    run_plan(job_plan(strategy_job(tmp_path, "no_cot_only")), run, reused.append)
    assert [str(folder / "checkpoint") for folder in reused] == [grpo_start]
    assert run.stages() == ["ground", "sft_no_cot"]
    longer = strategy_job(tmp_path, "no_cot_equal_tokens")
    run_plan(job_plan(longer), run, lambda folder: pytest.fail("reused the equal-steps run"))
    [equal_steps, equal_tokens] = run.of("sft_no_cot")
    assert (equal_steps.stage.max_steps, equal_tokens.stage.max_steps) == (3000, 5518)
    assert run.stages() == ["ground", "sft_no_cot", "sft_no_cot"]


def test_a_job_with_its_own_stage_settings_is_not_shared(tmp_path):
    run = FakeRun()
    job = strategy_job(tmp_path, "cot_only", "stage.max_steps=3")
    assert cached(job) is None
    run_plan(job_plan(job), run, lambda folder: pytest.fail("reused a run with other stage settings"))
    assert run.stages() == ["ground", "sft"] and not list((tmp_path / ".cache" / "stages").glob("sft-*"))


def test_stage_settings_reach_a_stage_wherever_it_runs(tmp_path):
    """`stage_settings.sft` shortens SFT both as cot_only's own stage and as cot_grpo's upstream, and
    the two still share one run; the same key on the command line, or a typo, is an error."""
    short = "+stage_settings.sft={max_steps:4,eval:{limit:2}}"
    run = FakeRun()
    start(strategy_job(tmp_path, "cot_grpo", short), run)
    [upstream] = run.of("sft")
    assert (upstream.stage.name, upstream.stage.max_steps, upstream.stage.eval.limit) == ("sft", 4, 2)
    cot_only = with_stage_settings(strategy_job(tmp_path, "cot_only", short))
    assert (cot_only.stage.max_steps, cot_only.stage.eval.limit) == (4, 2)
    assert cached(cot_only) == Path(upstream.paths.output_dir)
    with pytest.raises(ConfigError, match="stage.max_steps is set on the command line and in stage_settings.sft"):
        with_stage_settings(strategy_job(tmp_path, "cot_only", short, "stage.max_steps=7"))
    with pytest.raises(ConfigError, match="stage_settings.sft: Key 'max_stpes' not in 'SFTSettings'"):
        start(strategy_job(tmp_path, "cot_grpo", "+stage_settings.sft={max_stpes:4}"), run)


def test_a_ddp_rank_beside_rank_0_never_takes_the_lock(tmp_path, monkeypatch):
    """Lightning starts ranks 1.. by running the job again while rank 0 holds the stage-cache lock
    and waits for them: they must train beside it (no lock, no marker) or read a finished run."""
    def plan(strategy):  # composed last: the job Hydra runs
        return job_plan(strategy_job(tmp_path, strategy))

    folder = plan("cot_only")[-1].cache
    folder.parent.mkdir(parents=True)
    lock = folder.with_suffix(".lock").open("w")
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # rank 0 is training the SFT run
    monkeypatch.setenv("LOCAL_RANK", "1")
    run = FakeRun()
    assert starting_checkpoint(plan("cot_grpo"), run) == str(folder / "checkpoint")
    assert run.stages() == ["ground", "sft"]
    assert run_plan(plan("cot_only"), FakeRun(), lambda f: pytest.fail("rank 1 links nothing")) == {"eval/format_rate": 0.5}
    assert not (folder / DONE).exists()  # the marker is rank 0's to write
    (folder / DONE).write_text("done")
    assert run_plan(plan("cot_only"), FakeRun(fail=True), lambda f: pytest.fail("rank 1 links nothing")) == {"eval/format_rate": 0.5}


def test_the_plan_names_each_stage_its_start_and_its_folder_before_any_work(tmp_path):
    steps = job_plan(grpo_config(tmp_path))
    ground, sft, grpo = (str(step.cache) for step in steps)
    assert plan_lines(steps) == [
        "plan: 3 stage(s), in order",
        f"  1. ground (1500 steps, lr 0.001): train from the backbone (tiny) into {ground}",
        f"  2. sft (3000 steps, lr 0.003): train from 1 (ground) into {sft}",
        f"  3. grpo (60 steps, lr 0.0001): train from 2 (sft) in {tmp_path / 'run'}, then publish it to {grpo}",
    ]
    start(grpo_config(tmp_path), FakeRun())
    reused = plan_lines(job_plan(grpo_config(tmp_path, "reward=user")))
    assert reused[1:3] == [f"  1. ground (1500 steps, lr 0.001): reuse the finished run in {ground}",
                           f"  2. sft (3000 steps, lr 0.003): reuse the finished run in {sft}"]
    assert reused[3] == f"  3. grpo (60 steps, lr 0.0001): train from 2 (sft) in {tmp_path / 'run'}"  # reward=user: its own run
    loaded = plan_lines(job_plan(grpo_config(tmp_path, f"stage.init_checkpoint={tmp_path}")))
    assert loaded == ["plan: 1 stage(s), in order", f"  1. grpo (60 steps, lr 0.0001): train from the checkpoint {tmp_path} "
                                                    f"(stage.init_checkpoint) in {tmp_path / 'run'}"]


def test_cfg_job_shows_the_plan_the_job_prints(tmp_path):
    """`--cfg job` ends with the plan, as YAML comments; a sweep says each job prints its own."""
    shown = shown_plan(["+experiment=ablation_no_cot", f"paths.root_dir={tmp_path}"])
    cfg = grpo_config(tmp_path, "+experiment=ablation_no_cot")
    with open_dict(cfg):
        cfg.paths.output_dir = None  # `--cfg job` composes no run folder
    assert shown == [f"# {line}" for line in plan_lines(job_plan(cfg))] + [
        "# (a sweep over reward: each job prints its own plan when it starts)"]
    assert [line.split(":")[0] for line in shown[1:4]] == ["#   1. ground (1500 steps, lr 0.001)",
                                                           "#   2. sft_no_cot (3000 steps, lr 0.003)",
                                                           "#   3. grpo (60 steps, lr 0.0001)"]


def test_a_chain_that_loops_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="the chain sft <- grpo <- sft loops"):
        job_plan(compose_train([f"paths.root_dir={tmp_path}", "stage.upstream=grpo"], output_dir=tmp_path / "run"))


UNGROUNDED = "condition.grounding_stage=camera_pretrain"


@pytest.mark.parametrize(("condition", "backbone", "sft", "ground"), [
    ("all", "tiny", "ground", None),  # tiny grounding trains the camera encoder itself (profile/ground_tiny.yaml)
    ("depth", "tiny", "ground", None),
    ("all", "qwen2_5_omni_7b", "camera_pretrain", "camera_pretrain"),  # pretrained towers: grounding is not read
])
def test_tiny_sft_starts_from_grounding_which_starts_from_the_backbone(tmp_path, condition, backbone, sft, ground):
    job = [f"paths.root_dir={tmp_path}", f"condition={condition}", f"backbone={backbone}"]
    assert compose_train(job).stage.upstream == sft
    assert compose_train([*job, "stage=ground"]).stage.upstream == ground
    assert compose_train([*job, "stage=grpo"]).stage.upstream == "sft"


def test_the_default_plan_trains_ground_then_sft(tmp_path):
    cfg = compose_train([f"paths.root_dir={tmp_path}"], output_dir=tmp_path / "run")
    steps = job_plan(cfg)
    ground, sft = (str(step.cache) for step in steps)
    assert plan_lines(steps) == [
        "plan: 2 stage(s), in order",
        f"  1. ground (1500 steps, lr 0.001): train from the backbone (tiny) into {ground}",
        f"  2. sft (3000 steps, lr 0.003): train from 1 (ground) in {tmp_path / 'run'}, then publish it to {sft}",
    ]
    run = FakeRun()
    assert start(cfg, run) == f"{ground}/checkpoint" and run.stages() == ["ground"]
    [grounding] = run.of("ground")
    assert grounding.stage.upstream is None and grounding.stage.max_steps == 1500  # the tiny profile
    shown = shown_plan([f"paths.root_dir={tmp_path}"])
    assert [line.split(" (")[0] for line in shown] == ["# plan: 2 stage(s), in order", "#   1. ground", "#   2. sft"]


@pytest.mark.parametrize(("condition", "new_encoder"), [("all", True), ("camera", True), ("depth", False), ("text", False)])
def test_tiny_grounding_adds_the_camera_stages_encoder_where_its_rows_bring_trajectories(tmp_path, condition, new_encoder):
    """The sizes the ground profile states are the camera stage's tiny encoder's, and reach the
    backbone (which adds the encoder) only where the condition option reads camera trajectories."""
    job = [f"paths.root_dir={tmp_path}", f"condition={condition}"]
    camera_stage = OmegaConf.to_container(compose_train([*job, "stage=camera_pretrain"]).stage.camera_encoder)
    grounding = compose_train([*job, "stage=ground"])
    expected = camera_stage if new_encoder else None
    assert OmegaConf.to_container(grounding, resolve=True)["stage"]["camera_encoder"] == expected
    assert OmegaConf.to_container(grounding, resolve=True)["backbone"]["camera_encoder"] == expected
    assert compose_train(job).backbone.camera_encoder is None  # SFT loads the encoder its start holds


def test_grounding_switched_off_trains_sft_from_the_camera_run(tmp_path):
    """`condition.grounding_stage=camera_pretrain` puts the camera stage where grounding was: SFT
    trains from it, in a run of its own; stage=ground alone is the run the default SFT starts from."""
    def keys(*overrides):
        return [(step.stage, step.key) for step in job_plan(compose_train([f"paths.root_dir={tmp_path}", *overrides]))]

    default, ungrounded = keys(), keys(UNGROUNDED)
    assert [stage for stage, _ in ungrounded] == ["camera_pretrain", "sft"]
    assert ungrounded[0] == keys("stage=camera_pretrain")[-1] and default[0] == keys("stage=ground")[-1]
    assert ungrounded[1][1] != default[1][1]  # SFT from another start: another run


@pytest.mark.parametrize(("overrides", "frozen"), [
    ([], ["visual", "audio_tower", "camera_encoder"]),
    (["stage=sft_no_cot"], ["visual", "audio_tower", "camera_encoder"]),
    (["condition=depth"], ["visual", "audio_tower"]),
    (["condition=camera"], []),  # no grounding stage: nothing frozen
    (["condition=text"], []),
    ([UNGROUNDED], []),  # grounding switched off: SFT trains the random towers
])
def test_tiny_sft_leaves_what_its_grounding_trained_as_it_was(tmp_path, overrides, frozen):
    assert list(compose_train([f"paths.root_dir={tmp_path}", *overrides]).stage.frozen) == frozen


@pytest.mark.parametrize(("made_by", "frozen"), [
    ("ground", ["visual", "audio_tower", "camera_encoder"]),
    ("camera_pretrain", []),  # towers no stage grounded: SFT trains them
    ("sft", []),
    (None, []),  # not one of ours (no reade_config.yaml): nothing is known to be trained
])
def test_tiny_sft_from_a_checkpoint_freezes_what_the_stage_that_made_it_trained(tmp_path, made_by, frozen):
    """The freeze follows the stage that wrote `stage.init_checkpoint` (its reade_config.yaml), not
    `condition.grounding_stage`, which names the start only when SFT starts from its upstream."""
    folder = tmp_path / "checkpoint"
    folder.mkdir()
    if made_by is not None:
        (folder / RUN_CONFIG_FILE).write_text(OmegaConf.to_yaml({"stage": {"name": made_by, "max_steps": 7}}))
    job = [f"paths.root_dir={tmp_path}", f"stage.init_checkpoint={folder}"]
    assert list(compose_train(job).stage.frozen) == frozen
    assert list(compose_train([*job, "stage.frozen=[visual]"]).stage.frozen) == ["visual"]  # said outright, it stands

"""Resuming an append-only JSONL output: the ids it holds, a torn last line dropped, and every file
that is not this run's output refused with its lines named. Resuming a training run in its own
folder: the run's recorded overrides replayed, a change refused with its difference named."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from reade.errors import ConfigError, DataError
from reade.utils.resume import finished_ids, resume_arguments
from tests.conftest import CONF

WANTED = {"a", "b", "c"}


def check_origin(record):
    return None if record.get("by") == "us" else ("by", f"made by {record.get('by')!r}")


def test_a_missing_file_holds_nothing(tmp_path):
    assert finished_ids(tmp_path / "out.jsonl", WANTED, row_kind="a row", remedy="pick another") == (set(), 0)


def test_ids_are_read_and_a_torn_last_line_is_cut(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text('{"id": "a", "by": "us"}\n\n{"id": "b", "by": "us"}\n{"id": "c", "by"')
    assert finished_ids(path, WANTED, row_kind="a row", remedy="pick another", check=check_origin) == ({"a", "b"}, 1)
    assert path.read_text() == '{"id": "a", "by": "us"}\n\n{"id": "b", "by": "us"}\n'


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"id": "a", "by": "us"}\n[1, 2]\n', "out.jsonl:2: row: not a row; the file was edited or is not ours"),
        ("not json\n", "out.jsonl:1: row: not a row"),
        ('{"by": "us"}\n', "out.jsonl:1: id: None is missing, not a string or repeated"),
        ('{"id": "a", "by": "us"}\n{"id": "a", "by": "us"}\n', "out.jsonl:2: id: 'a' is missing, not a string or repeated"),
        ('{"id": "a", "by": "them"}\n', "out.jsonl:1: by: made by 'them'"),
        ('{"id": "zz", "by": "us"}\n', "out.jsonl:0: id: 1 id(s) the input lacks, e.g. ['zz']: the file belongs to another input"),
    ],
)
def test_what_is_not_this_runs_output_is_refused_and_left_as_it_was(tmp_path, text, problem):
    path = tmp_path / "out.jsonl"
    path.write_text(text)
    with pytest.raises(DataError) as error:
        finished_ids(path, WANTED, row_kind="a row", remedy="pick another", check=check_origin)
    assert f"{path}: cannot resume from this file; pick another" in str(error.value)
    assert problem in str(error.value)
    assert path.read_text() == text


# A training run resumed in its own folder: `hydra.run.dir=<run> ckpt_path=last` runs the run's record.

LAUNCH = ["stage.max_steps=260", "stage.eval.limit=8", "logger=csv"]


def launched(run: Path, overrides: list[str], record: str = ".hydra") -> Path:
    """`run` with the record Hydra writes when it starts a job: the composed job config, unresolved,
    and the command line's overrides."""
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF)):
        cfg = compose("train", overrides=overrides)
    folder = run / record
    folder.mkdir(parents=True)
    OmegaConf.save(cfg, folder / "config.yaml")
    OmegaConf.save(OmegaConf.create(overrides), folder / "overrides.yaml")
    return run


@pytest.fixture
def run(tmp_path) -> Path:
    return launched(tmp_path / "run", LAUNCH)


def resume(run: Path, *given: str) -> list[str]:
    return resume_arguments([f"hydra.run.dir={run}", "ckpt_path=last", *given], CONF)


def test_a_resume_replays_the_runs_recorded_overrides_as_one_job_with_its_own_record(run):
    assert resume(run) == [*LAUNCH, "ckpt_path=last", f"hydra.run.dir={run}", "hydra.mode=RUN",
                           "hydra.output_subdir=.hydra/resume-1"]


def test_hydras_options_stay_and_a_repeated_override_changes_nothing(run):
    assert resume(run, "--cfg", "job", "stage.eval.limit=8") == [
        "--cfg", "job", *LAUNCH, "ckpt_path=last", f"hydra.run.dir={run}", "hydra.mode=RUN",
        "hydra.output_subdir=.hydra/resume-1"]


def test_raising_max_steps_trains_the_same_run_for_longer(run):
    assert resume(run, "stage.max_steps=400")[:3] == ["stage.max_steps=400", "stage.eval.limit=8", "logger=csv"]


def test_a_later_resume_starts_from_the_latest_record(run):
    launched(run, ["stage.max_steps=400", "stage.eval.limit=8", "logger=csv", "ckpt_path=last"], ".hydra/resume-1")
    arguments = resume(run)
    assert arguments[0] == "stage.max_steps=400" and arguments[-1] == "hydra.output_subdir=.hydra/resume-2"
    with pytest.raises(ConfigError, match=r"its record .*resume-1/config.yaml \(recorded -> now: stage.max_steps 400 -> 300\)"):
        resume(run, "stage.max_steps=300")


@pytest.mark.parametrize(
    ("given", "named"),
    [
        (["stage.eval.limit=32"], "stage.eval.limit 8 -> 32"),
        (["stage.max_steps=100"], "stage.max_steps 260 -> 100"),
        (["judge=lexical"], "judge._target_ 'reade.rewards.judges.embedding.EmbeddingJudge' -> "
                            "'reade.rewards.judges.lexical.LexicalJudge'"),
        (["+stage_settings.camera_pretrain={max_steps:5}"], "stage_settings.camera_pretrain absent -> {'max_steps': 5}"),
    ],
)
def test_an_override_that_changes_what_is_trained_is_refused_with_the_difference_named(run, given, named):
    with pytest.raises(ConfigError) as error:
        resume(run, *given)
    message = str(error.value)
    assert message.startswith(f"resume of {run} refused: the config differs from its record {run}/.hydra/config.yaml "
                              "(recorded -> now: ")
    assert named in message and "a resume may only raise stage.max_steps" in message and "\n" not in message
    assert not (run / ".hydra" / "resume-1").exists()


def test_a_config_that_changed_since_the_launch_is_refused(run):
    record = run / ".hydra" / "config.yaml"
    record.write_text(record.read_text().replace("lr: 0.003", "lr: 0.002"))
    with pytest.raises(ConfigError, match=r"stage.optimizer.lr 0.002 -> 0.003"):
        resume(run)


def test_a_typo_at_resume_is_a_config_error(run):
    with pytest.raises(ConfigError, match=f"resume of {run}: .*stage.max_stepz"):
        resume(run, "stage.max_stepz=5")


@pytest.mark.parametrize(
    "arguments",
    [
        ["stage.max_steps=5"],
        ["hydra.run.dir={run}"],
        ["hydra.run.dir={run}", "ckpt_path=elsewhere.ckpt"],
        ["hydra.run.dir={run}/nowhere", "ckpt_path=last"],
        # a DDP rank that Lightning starts with the resumed command line says where its record goes
        ["hydra.run.dir={run}", "ckpt_path=last", "stage.eval.limit=32", "hydra.output_subdir=null"],
    ],
)
def test_other_command_lines_are_left_as_they_are(run, arguments):
    arguments = [argument.format(run=run) for argument in arguments]
    assert resume_arguments(arguments, CONF) == arguments

"""`reade.report` on fabricated run folders: which runs make which rows, the Markdown it writes, the
same bytes again from the same folders, a clear error when nothing can be reported, and a partial
table named as such and never written over a fuller one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from reade.errors import ConfigError, ReadeError
from reade.evaluate import write_provenance
from reade.report import report
from reade.results.runs import PROVENANCE_FILE, Run, SweepProgress, find_runs, latest_sweep, sweep_progress, sweep_size
from reade.results.tables import STRATEGY_TITLES, body_rows, by_reasoning_mode
from tests.conftest import ROOT, compose_config

ASPECTS = ("main_object", "background", "action", "style", "camera", "dense")
STRATEGIES = tuple(STRATEGY_TITLES)


def job(folder: Path, *, task: str = "train", metrics: dict, steps: list[float] | None = None, config=None, **choices):
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump({"hydra": {"job": {"name": task}, "runtime": {"choices": choices}}}))
    (folder / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config or {}))
    (folder / "metrics.json").write_text(json.dumps(metrics))
    if steps:
        (folder / "steps.jsonl").write_text("".join(json.dumps({"step": i + 1, "train/content_mean": v}) + "\n"
                                                    for i, v in enumerate(steps)))
    return folder


def caption_metrics(acc: float, **extra) -> dict:
    return {**{f"eval/acc_{a}": acc for a in ASPECTS}, **{f"eval/quality_{a}": 5 * acc for a in ASPECTS},
            "eval/acc_inferable_dense": acc, "eval/acc_inferable_dense_ci_low": acc - 0.05,
            "eval/acc_inferable_dense_ci_high": acc + 0.05, "eval/acc_text": 1.0, "eval/acc_condition": acc / 2,
            "eval/format_rate": 1.0, "eval/samples": 8, **extra}


@pytest.fixture
def logs(tmp_path) -> Path:
    root = tmp_path / "logs"
    sweeps = root / "train" / "multiruns"
    job(sweeps / "2026-01-01_00-00-00" / "0", metrics=caption_metrics(0.1), experiment="ablation_no_cot", reward="user")
    for i, reward in enumerate(("user", "user_detail", "user_detail_supp", "full")):  # the later sweep counts
        rewards = {"eval/r_user": 1.0, "eval/r_detail": i / 2, "eval/r_supp": 0.5, "eval/r_contra": 0.0}
        job(sweeps / "2026-01-02_00-00-00" / str(i), metrics=caption_metrics(0.5 + i / 10, **rewards),
            steps=[1.0, 1.5, 2.0], experiment="ablation_no_cot", reward=reward)
    for i, strategy in enumerate(STRATEGIES):
        job(sweeps / "2026-01-03_00-00-00" / str(i), metrics=caption_metrics(0.6 + i / 20), experiment="learning_strategy",
            strategy=strategy)
    (sweeps / "2026-01-04_00-00-00" / "0").mkdir(parents=True)  # an unfinished job: no metrics.json
    trained = {}
    for i, kind in enumerate(("depth", "camera")):
        trained[kind] = job(sweeps / "generalization" / "2026-01-05_00-00-00" / str(i), metrics=caption_metrics(0.3),
                            experiment="generalization", condition=kind)
    for i, (kind, evaluated) in enumerate([(t, e) for t in ("depth", "camera") for e in ("depth", "camera")]):
        evaluation = job(root / "evaluate" / "multiruns" / "2026-01-06_00-00-00" / str(i), task="evaluate",
                         condition=evaluated, metrics=caption_metrics(0.2 + i / 10), config={"checkpoint": str(trained[kind])})
        write_provenance(evaluation / PROVENANCE_FILE, str(trained[kind]))
    for i, baseline in enumerate(("constant", "gold", "instruction")):  # all rows, and on the depth rows alone
        job(root / "evaluate" / "multiruns" / "2026-01-07_00-00-00" / str(i), task="evaluate", condition="all",
            metrics=caption_metrics(0.1 * (i + 1)), config={"checkpoint": None, "baseline": baseline})
    job(root / "evaluate" / "runs" / "2026-01-08_00-00-00", task="evaluate", condition="depth",
        metrics=caption_metrics(0.25), config={"checkpoint": None, "baseline": "instruction", "only_condition_rows": True})
    return root


def run_report(tmp_path, logs, *reports, sweeps=None):
    overrides = [f"runs_dir={logs}", f"out_dir={tmp_path / 'out'}"] + ([f"reports=[{','.join(reports)}]"] if reports else [])
    overrides += [f"sweeps=[{','.join(sweeps)}]"] if sweeps else []
    return report(compose_config("report", overrides, tmp_path))


def test_only_finished_jobs_of_the_latest_sweep_count(logs):
    runs = find_runs(logs)
    assert len(runs) == 1 + 4 + 5 + 2 + 4 + 4
    assert [r.choices["reward"] for r in latest_sweep(runs, "ablation_no_cot")] == ["user", "user_detail", "user_detail_supp", "full"]


def test_table6_rows_are_the_papers(tmp_path, logs):
    written = run_report(tmp_path, logs, "table6")
    assert [f.name for f in written["table6"]] == ["table.md", "accuracy.png", "reward_curves.png"]
    lines = (tmp_path / "out" / "table6" / "table.md").read_text().splitlines()
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| Row")]
    assert rows == [  # the baselines first, then the models; one run a row: its interval where it has one
        "| gold caption (ceiling) |  |  |  |  |  | 20.0 | 20.0 [15.0, 25.0] | 100.0 / 10.0 / - | 1.00 | 20.0 | - | 1.00 |",
        "| instruction copied |  |  |  |  |  | 30.0 | 30.0 [25.0, 35.0] | 100.0 / 15.0 / - | 1.50 | 30.0 | - | 1.00 |",
        "| most common caption |  |  |  |  |  | 10.0 | 10.0 [5.0, 15.0] | 100.0 / 5.0 / - | 0.50 | 10.0 | - | 1.00 |",
        "| CoT only | ✓ | - | - | - | - | 60.0 | 60.0 [55.0, 65.0] | 100.0 / 30.0 / - | 3.00 | 60.0 | - | 1.00 |",
        "| no CoT, SFT only (equal steps) | - | - | - | - | - | 65.0 | 65.0 [60.0, 70.0] | 100.0 / 32.5 / - | 3.25 | 65.0 | - | 1.00 |",
        "| no CoT, SFT only (equal target tokens) | - | - | - | - | - | 70.0 | 70.0 [65.0, 75.0] | 100.0 / 35.0 / - | 3.50 | 70.0 | - | 1.00 |",
        "| no CoT, reward=user | - | ✓ | - | - | - | 50.0 | 50.0 [45.0, 55.0] | 100.0 / 25.0 / - | 2.50 | 50.0 | 1.40 | 1.00 |",
        "| no CoT, reward=user_detail | - | ✓ | ✓ | - | - | 60.0 | 60.0 [55.0, 65.0] | 100.0 / 30.0 / - | 3.00 | 60.0 | 1.90 | 1.00 |",
        "| no CoT, reward=user_detail_supp | - | ✓ | ✓ | ✓ | - | 70.0 | 70.0 [65.0, 75.0] | 100.0 / 35.0 / - | 3.50 | 70.0 | 2.40 | 1.00 |",
        "| no CoT, reward=full | - | ✓ | ✓ | ✓ | ✓ | 80.0 | 80.0 [75.0, 85.0] | 100.0 / 40.0 / - | 4.00 | 80.0 | 2.90 | 1.00 |",
        "| CoT + GRPO | ✓ | ✓ | ✓ | ✓ | ✓ | 80.0 | 80.0 [75.0, 85.0] | 100.0 / 40.0 / - | 4.00 | 80.0 | - | 1.00 |",
    ]
    assert "2026-01-01" not in "\n".join(lines)  # the earlier sweep is not among the sources


def test_the_generalization_grid_pairs_training_and_evaluation_kinds(tmp_path, logs):
    run_report(tmp_path, logs, "generalization")
    text = (tmp_path / "out" / "generalization" / "table.md").read_text()
    assert "| trained on \\ evaluated on | depth | camera |" in text
    assert "| depth | 20.0 | 30.0 |" in text and "| camera | 40.0 | 50.0 |" in text
    assert "| instruction copied | 25.0 | - |" in text  # the baseline on the depth rows, above the models
    assert (tmp_path / "out" / "generalization" / "heatmap.png").stat().st_size > 0


def test_a_generalization_cell_of_several_seeds_shows_their_mean_and_interval(tmp_path, logs):
    """Two seeds trained on depth in a later training sweep, each evaluated on the depth rows: the
    cell pools them, and the earlier sweep's checkpoints (depth and camera) leave the grid."""
    for seed, acc in ((1, 0.4), (2, 0.6)):
        trained = job(logs / "train" / "multiruns" / "generalization" / "2026-01-09_00-00-00" / str(seed),
                      metrics=caption_metrics(0.3), experiment="generalization", condition="depth", config={"seed": seed})
        evaluation = job(logs / "evaluate" / "multiruns" / "2026-01-09_00-00-00" / str(seed), task="evaluate",
                         condition="depth", metrics=caption_metrics(acc), config={"checkpoint": str(trained)})
        write_provenance(evaluation / PROVENANCE_FILE, str(trained))
    run_report(tmp_path, logs, "generalization")
    text = (tmp_path / "out" / "generalization" / "table.md").read_text()
    assert "| trained on \\ evaluated on | depth |" in text
    assert "| depth | 50.0 ± 14.1 [-77.1, 177.1] (n=2) |" in text and "| camera |" not in text
    assert "2026-01-06_00-00-00" not in text  # the earlier checkpoints' evaluations are not among the sources


def test_the_same_runs_give_the_same_bytes(tmp_path, logs):
    first = {f: f.read_bytes() for files in run_report(tmp_path, logs).values() for f in files}
    again = {f: f.read_bytes() for files in run_report(tmp_path, logs).values() for f in files}
    assert first == again and len(first) == 6


def test_several_seeds_of_a_row_show_mean_and_spread(tmp_path, logs):
    sweep = logs / "train" / "multiruns" / "2026-01-09_00-00-00"
    for i, (strategy, acc) in enumerate([("cot_only", 0.4), ("cot_only", 0.6), ("cot_grpo", 0.5)]):
        job(sweep / str(i), metrics=caption_metrics(acc), config={"seed": i}, experiment="learning_strategy",
            strategy=strategy)
    run_report(tmp_path, logs, "learning_strategy")
    text = (tmp_path / "out" / "learning_strategy" / "table.md").read_text()
    # two seeds: mean ± sd and the t-interval of the mean, half-width t(0.975, 1) · sd / √2 = 12.71 · 0.1
    assert "| CoT only (SFT) | 50.0 / 2.50 |" in text and "| 50.0 ± 14.1 [-77.1, 177.1] (n=2) | 1.00 |" in text
    assert "| CoT + GRPO | 50.0 / 2.50 |" in text and "| 50.0 [45.0, 55.0] | 1.00 |" in text


def seeded_sweeps(logs: Path) -> list[str]:
    """Seeds 0 and 1 of the CoT-only and CoT + GRPO rows launched as four separate sweeps, the GRPO runs
    with the scores of their start; the sweeps' names relative to `logs`."""
    named = []
    for seed, acc in ((0, 0.4), (1, 0.6)):
        for strategy, before in (("cot_only", None), ("cot_grpo", acc)):
            sweep = logs / "seeds" / f"{strategy}-s{seed}"
            grpo = {"eval/acc_inferable_dense_before": before - 0.1, "eval/reward_before": 0.5,
                    "eval/reward": 0.5 + acc} if before is not None else {}
            job(sweep / "0", metrics=caption_metrics(acc, **grpo), experiment="learning_strategy", strategy=strategy,
                config={"seed": seed, "stage": {"upstream": "sft"}})
            named.append(str(sweep.relative_to(logs)))
    return named


def test_named_sweeps_are_pooled_and_a_bundle_keeps_them(tmp_path, logs):
    named = seeded_sweeps(logs)
    written = report(compose_config("report", [f"runs_dir={logs}", f"out_dir={tmp_path / 'out'}", f"sweeps=[{','.join(named)}]",
                                               "reports=[learning_strategy]", f"bundle_dir={tmp_path / 'bundle'}"], tmp_path))
    text = written["learning_strategy"][0].read_text()
    assert "| CoT only (SFT) | 50.0 / 2.50 |" in text and "| 50.0 ± 14.1 [-77.1, 177.1] (n=2) | 1.00 |" in text
    assert "`seeds/cot_only-s0/0`, `seeds/cot_only-s1/0`" in text and "2026-01-03_00-00-00" not in text
    assert yaml.safe_load((tmp_path / "bundle" / "sweeps.yaml").read_text()) == named
    again = report(compose_config("report", [f"runs_dir={tmp_path / 'bundle'}", f"out_dir={tmp_path / 'again'}",
                                             "reports=[learning_strategy]"], tmp_path))
    assert again["learning_strategy"][0].read_bytes() == text.encode()
    with pytest.raises(ConfigError, match="sweeps: no finished job in .*seeds/nowhere"):
        run_report(tmp_path, logs, "learning_strategy", sweeps=["seeds/nowhere"])


def test_grpo_rows_say_what_grpo_did_to_the_captions(tmp_path, logs):
    run_report(tmp_path, logs, "learning_strategy", sweeps=seeded_sweeps(logs))
    text = (tmp_path / "out" / "learning_strategy" / "table.md").read_text()
    rows = text[text.index("What GRPO did"):].splitlines()
    # before 30 and 50, after 40 and 60: each seed +10, so the paired change has no spread
    assert rows[2:5] == ["| GRPO row | start | Acc inferable (dense) before | after | change (after − before) | "
                         "content reward before → after |", "|---|---|---|---|---|---|",
                         "| CoT + GRPO | `sft` | 40.0 ± 14.1 [-87.1, 167.1] (n=2) | 50.0 ± 14.1 [-77.1, 177.1] (n=2) | "
                         "10.0 ± 0.0 [10.0, 10.0] (n=2) | 0.500 → 1.000 |"]
    assert "CoT only" not in text[text.index("What GRPO did"):text.index("Runs (under")]


def test_nothing_to_report_is_an_error_naming_what_makes_the_runs(tmp_path):
    with pytest.raises(ReadeError, match="nothing to report"):
        run_report(tmp_path, tmp_path / "empty")
    with pytest.raises(ConfigError, match="unknown"):
        run_report(tmp_path, tmp_path, "table7")


def test_a_bundle_of_the_reported_runs_rebuilds_the_same_files(tmp_path, logs):
    first = {f.relative_to(tmp_path / "out"): f.read_bytes() for files in run_report_bundled(tmp_path, logs).values()
             for f in files}
    assert not list((tmp_path / "bundle").rglob("*.ckpt")) and (tmp_path / "bundle" / "evaluate").is_dir()
    shutil.rmtree(logs)  # the training runs are gone: the bundle alone
    again = report(compose_config("report", [f"runs_dir={tmp_path / 'bundle'}", f"out_dir={tmp_path / 'again'}"], tmp_path))
    assert {f.relative_to(tmp_path / "again"): f.read_bytes() for files in again.values() for f in files} == first


def run_report_bundled(tmp_path, logs):
    return report(compose_config("report", [f"runs_dir={logs}", f"out_dir={tmp_path / 'out'}",
                                            f"bundle_dir={tmp_path / 'bundle'}"], tmp_path))


def test_the_command_line_writes_the_reports_and_names_a_missing_one(tmp_path, logs):
    env = {**os.environ, "READE_ROOT": str(tmp_path), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "reade.report", f"runs_dir={logs}", f"out_dir={tmp_path / 'cli'}",
               f"hydra.run.dir={tmp_path / 'run'}"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "cli" / "table6" / "table.md").read_text() == (run_report(tmp_path, logs)["table6"][0]).read_text()
    empty = subprocess.run([*command[:3], f"runs_dir={tmp_path / 'none'}", *command[4:]], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
    assert empty.returncode == 2 and "nothing to report" in empty.stdout + empty.stderr


def test_the_committed_bundle_rebuilds_the_committed_tables(tmp_path):
    """experiments/runs holds what the reports read of the mini Table 6 and Fig. 3 runs: the tables
    under experiments/ must be exactly what it gives (regenerate both after a change)."""
    written = report(compose_config("report", [f"runs_dir={ROOT / 'experiments' / 'runs'}", f"out_dir={tmp_path / 'out'}"],
                                    tmp_path))
    for files in written.values():
        for file in files:
            committed = ROOT / "experiments" / file.relative_to(tmp_path / "out")
            if file.suffix == ".md":
                assert file.read_bytes() == committed.read_bytes(), committed
            else:  # a PNG's bytes also depend on the matplotlib and freetype builds installed
                assert committed.is_file() and file.stat().st_size > 0, committed
    assert sorted(written) == ["generalization", "learning_strategy", "table6"]


def multirun(sweep: Path, params: dict, task: list[str]) -> None:
    """The `multirun.yaml` Hydra writes into a sweep folder when the sweep starts."""
    sweep.mkdir(parents=True, exist_ok=True)
    (sweep / "multirun.yaml").write_text(yaml.safe_dump({"hydra": {"sweeper": {"params": params},
                                                                   "overrides": {"task": task}}}))


def started(folder: Path, **choices) -> None:
    """A job Hydra has started (its .hydra/ is written) that has not finished (no metrics.json)."""
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump({"hydra": {"job": {"name": "train"},
                                                                            "runtime": {"choices": choices}}}))


def unfinished_strategy_sweep(logs: Path, finished: int) -> Path:
    """A newer learning_strategy sweep of 5 jobs with `finished` of them done and the next one running."""
    sweep = logs / "train" / "multiruns" / "2026-01-10_00-00-00"
    multirun(sweep, {"+strategy": ",".join(STRATEGIES)}, ["+experiment=learning_strategy"])
    for i, strategy in enumerate(STRATEGIES[:finished]):
        job(sweep / str(i), metrics=caption_metrics(0.7), experiment="learning_strategy", strategy=strategy)
    started(sweep / str(finished), experiment="learning_strategy", strategy=STRATEGIES[finished])
    return sweep


def test_a_missing_row_is_named_in_the_table_and_on_stderr(tmp_path, logs, caplog):
    shutil.rmtree(logs / "train" / "multiruns" / "2026-01-02_00-00-00" / "3")  # reward=full never finished
    run_report(tmp_path, logs, "table6")
    text = (tmp_path / "out" / "table6" / "table.md").read_text()
    note = "**Incomplete.** Missing rows (no finished run): `no CoT, reward=full`."
    assert note in text and text.index(note) < text.index("| Row")
    assert "Missing rows (no finished run): `no CoT, reward=full`" in caplog.text


def test_an_unfinished_sweep_is_named_with_its_progress(tmp_path, logs):
    unfinished_strategy_sweep(logs, finished=1)
    run_report(tmp_path, logs, "table6", "learning_strategy")
    table6 = (tmp_path / "out" / "table6" / "table.md").read_text()
    assert ("Missing rows (no finished run): `no CoT, SFT only (equal steps)`, "
            "`no CoT, SFT only (equal target tokens)`, `CoT + GRPO`." in table6)
    assert ("Unfinished sweeps: `train/multiruns/2026-01-10_00-00-00` (learning_strategy): 1 of 5 jobs finished."
            in table6)
    strategy = (tmp_path / "out" / "learning_strategy" / "table.md").read_text()
    assert ("Missing rows (no finished run): `no CoT (SFT, equal steps)`, `no CoT (SFT, equal target tokens)`, "
            "`GRPO only (no CoT)`, `CoT + GRPO`." in strategy)


def test_a_sweep_that_finished_no_job_yet_is_named_beside_the_earlier_one_shown(tmp_path, logs):
    unfinished_strategy_sweep(logs, finished=0)
    run_report(tmp_path, logs, "learning_strategy")
    text = (tmp_path / "out" / "learning_strategy" / "table.md").read_text()
    assert "(learning_strategy): 0 of 5 jobs finished, none of them in the table yet." in text
    assert "Missing rows" not in text and "2026-01-03_00-00-00/4" in text  # the complete earlier sweep


def test_a_complete_report_has_no_note(tmp_path, logs):
    run_report(tmp_path, logs, "table6", "learning_strategy")
    assert not any("Incomplete" in (tmp_path / "out" / name / "table.md").read_text()
                   for name in ("table6", "learning_strategy"))


def test_the_generalization_grid_names_the_pairs_and_baselines_it_lacks(tmp_path, logs):
    run_report(tmp_path, logs, "generalization")
    text = (tmp_path / "out" / "generalization" / "table.md").read_text()
    assert "`gold caption (ceiling) on the identity, depth, pose, camera, audio rows`" in text
    assert "`instruction copied on the identity, pose, camera, audio rows`" in text  # depth's is there
    assert "`trained on identity`" in text and "`trained on depth, evaluated on audio`" in text
    assert "`trained on depth, evaluated on camera`" not in text


def test_fewer_rows_never_replace_a_table_without_the_flag(tmp_path, logs):
    run_report(tmp_path, logs, "table6")
    table = tmp_path / "out" / "table6" / "table.md"
    before = {f: f.read_bytes() for f in table.parent.iterdir()}
    unfinished_strategy_sweep(logs, finished=1)
    with pytest.raises(ReadeError, match=r"table6/table.md has 11 table rows and this report 8: not replaced\. "
                                         r"\*\*Incomplete\.\*\* Missing rows \(no finished run\): `no CoT, SFT only "
                                         r"\(equal steps\)`, `no CoT, SFT only \(equal target tokens\)`, `CoT \+ GRPO`"):
        run_report(tmp_path, logs, "table6")
    assert {f: f.read_bytes() for f in table.parent.iterdir()} == before  # the figures too
    report(compose_config("report", [f"runs_dir={logs}", f"out_dir={tmp_path / 'out'}", "reports=[table6]",
                                     "allow_fewer_rows=true"], tmp_path))
    assert body_rows(table.read_text()) == 8 and "`CoT + GRPO`" in table.read_text()


def test_the_command_line_refuses_fewer_rows_and_warns_on_stderr(tmp_path, logs):
    env = {**os.environ, "READE_ROOT": str(tmp_path), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "reade.report", f"runs_dir={logs}", f"out_dir={tmp_path / 'cli'}",
               "reports=[learning_strategy]", f"hydra.run.dir={tmp_path / 'run'}"]
    assert subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=300).returncode == 0
    unfinished_strategy_sweep(logs, finished=1)
    refused = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "has 8 table rows and this report 4: not replaced" in refused.stderr and refused.stdout == ""
    allowed = subprocess.run([*command, "allow_fewer_rows=true"], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=300)
    assert allowed.returncode == 0, allowed.stderr[-2000:]
    assert "learning_strategy: **Incomplete.** Missing rows (no finished run): `no CoT (SFT, equal steps)`" in allowed.stderr


def test_the_learning_strategy_sweep_makes_every_strategy_row_the_tables_name():
    experiment = yaml.safe_load((ROOT / "conf" / "experiment" / "learning_strategy.yaml").read_text())
    assert tuple(experiment["hydra"]["sweeper"]["params"]["+strategy"].split(",")) == STRATEGIES
    assert all((ROOT / "conf" / "strategy" / f"{name}.yaml").is_file() for name in STRATEGIES)


@pytest.mark.parametrize(
    "params, task, expected",
    [
        ({"reward": "user,user_detail,user_detail_supp,full"}, ["+experiment=ablation_no_cot"], 4),
        ({"+strategy": ",".join(STRATEGIES)}, ["+experiment=learning_strategy", "seed=0,1"], 10),
        ({"condition": "identity,depth"}, ["condition=depth", "seed=range(0,3)"], 3),  # the command line wins
        (None, ["checkpoint=a,b", "condition=identity,depth,pose"], 6),
        ({"seed": "glob(*)"}, [], None),  # needs the config to expand
    ],
)
def test_the_number_of_jobs_a_sweep_launches(tmp_path, params, task, expected):
    multirun(tmp_path, params, task)
    assert sweep_size(tmp_path / "multirun.yaml") == expected


def test_without_multirun_yaml_a_sweep_counts_the_jobs_it_holds(tmp_path):
    job(tmp_path / "0", metrics={}, experiment="x")
    started(tmp_path / "1", experiment="x")
    assert sweep_progress(tmp_path) == SweepProgress(tmp_path, finished=1, expected=2)


def test_derived_accuracy_is_shown_per_reasoning_mode_where_runs_recorded_it(tmp_path):
    def run(name, **modes):
        metrics = {f"eval/acc_derived_{mode}": value for mode, value in modes.items()}
        metrics |= {f"eval/acc_derived_{mode}_ci_low": value - 0.1 for mode, value in modes.items()}
        metrics |= {f"eval/acc_derived_{mode}_ci_high": value + 0.1 for mode, value in modes.items()}
        return Run(tmp_path / name, "train", {}, {}, metrics | {"eval/acc_derived_riddle_before": 0.0})

    table = by_reasoning_mode([("CoT only", [run("a", riddle=0.5, riddle_in_context=0.25)]), ("no CoT", [run("b", riddle=0.4)])])
    assert table.splitlines()[3:] == [
        "| Row | riddle | riddle_in_context |",
        "|---|---|---|",
        "| CoT only | 50.0 [40.0, 60.0] | 25.0 [15.0, 35.0] |",
        "| no CoT | 40.0 [30.0, 50.0] | - |",
    ]
    assert by_reasoning_mode([("old run", [Run(tmp_path / "c", "train", {}, {}, {"eval/acc_derived": 0.5})])]) == ""

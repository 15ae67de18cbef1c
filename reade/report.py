"""python -m reade.report — the paper's tables and figures from finished runs (no wandb needed).

Thin: find the finished jobs under `runs_dir`, pick each experiment's latest sweep (or the jobs of
the `sweeps` named, pooled: seeds or rows launched as separate sweeps), and write every asked report
whose runs exist into `out_dir/<report>/` (`table.md` and PNG figures); a report whose runs are
missing is named with the command that makes them. Nothing to report exits 2. With `bundle_dir`,
what the reports read of their runs (metrics, Hydra configs, step logs; no checkpoints) is copied
there, with the `sweeps` named (`sweeps.yaml`), so that `runs_dir=<bundle_dir>` rebuilds the same
files anywhere.

A partial table is never published silently: the rows it lacks (no finished run) and the sweeps it
reads that have not finished every job are named at the top of `table.md` and on stderr, and a
`table.md` already there with more rows (the committed tables under `experiments/`) is not replaced
unless `allow_fewer_rows=true`: the run exits 2 and the report's files are left as they were.
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
import yaml
from omegaconf import DictConfig

from reade.config import check_known_keys
from reade.errors import ConfigError, ReadeError, exit_on_user_error
from reade.results import figures, tables
from reade.results.runs import SWEEPS_FILE, Run, bundle, chosen_sweeps, find_runs, shown_jobs, sweep_progress, sweeps_of

log = logging.getLogger(__name__)

BASELINES = "python -m reade.evaluate -m baseline=gold,instruction,constant"
MAKES = {
    "table6": "python -m reade.train +experiment=ablation_no_cot -m; python -m reade.train +experiment=learning_strategy -m; "
              + BASELINES,
    "learning_strategy": f"python -m reade.train +experiment=learning_strategy -m; {BASELINES}",
    "generalization": "bash experiments/generalization/run.sh",
}
HEADINGS = {
    "table6": ("Table 6 (mini): CoT and reward ablation", "paper Table 6; the identities and video-quality columns "
               "need a video generator and are left out"),
    "learning_strategy": ("Learning strategy (mini)", "paper section 4.3, The Impact of Learning Strategy"),
    "generalization": ("Fig. 3 (mini): generalization across condition kinds", "paper Fig. 3: dense-caption "
                       "intention accuracy (%) of a model trained on one kind, evaluated on the held-out rows of each"),
}


def report(cfg: DictConfig) -> dict[str, list[Path]]:
    check_known_keys(cfg)
    unknown = sorted(set(cfg.reports) - set(MAKES))
    if unknown:
        raise ConfigError(f"reports: unknown {unknown}; known: {sorted(MAKES)}")
    root = Path(cfg.runs_dir)
    runs = find_runs(root)
    pooled = chosen_sweeps(root, cfg.sweeps, runs)
    written, used = {}, []
    for name in cfg.reports:
        files, sources = WRITERS[name](runs, root, Path(cfg.out_dir) / name, cfg.allow_fewer_rows, pooled)
        if files:
            written[name] = files
            used += sources
            log.info("%s: wrote %s", name, ", ".join(str(f) for f in files))
        else:
            log.warning("%s: no finished runs under %s; made by: %s", name, root, MAKES[name])
    if not written:
        raise ReadeError(f"nothing to report: no finished runs for {list(cfg.reports)} under {root}")
    if cfg.bundle_dir:
        bundle(used, root, Path(cfg.bundle_dir))
        if pooled:
            (Path(cfg.bundle_dir) / SWEEPS_FILE).write_text(yaml.safe_dump([str(s.relative_to(root)) for s in pooled]))
        log.info("copied what the reports read of %d runs to %s", len(used), cfg.bundle_dir)
    return written


def _page(name: str, body: str, gaps: str) -> str:
    title, what = HEADINGS[name]
    return f"# {title}\n\nWhat: {what}. Made by `{MAKES[name]}`, then `python -m reade.report`.\n\n{gaps}{body}"


def _gaps(missing: list[str], unfinished: list[str]) -> str:
    """The paragraph a partial table opens with: the rows it lacks and the sweeps still running or failed."""
    sentences = [f"Missing rows (no finished run): {', '.join(f'`{row}`' for row in missing)}."] if missing else []
    sentences += [f"Unfinished sweeps: {'; '.join(unfinished)}."] if unfinished else []
    return f"**Incomplete.** {' '.join(sentences)}\n\n" if sentences else ""


def _unfinished(runs: list[Run], root: Path, experiments: tuple[str, ...], pooled: list[Path]) -> list[str]:
    """The sweeps of `experiments` that a table shows, or that started after the last one it shows, and
    have not finished every job."""
    notes = []
    for experiment in experiments:
        shown = {run.sweep for run in shown_jobs(runs, experiment, pooled)}
        for progress in map(sweep_progress, sweeps_of(root, experiment)):
            if progress.complete or (shown and progress.folder not in shown and progress.folder < max(shown)):
                continue
            later = "" if progress.finished else ", none of them in the table yet"
            notes.append(f"`{progress.folder.relative_to(root)}` ({experiment}): {progress.finished} of "
                         f"{progress.expected} jobs finished{later}")
    return notes


def _write_table(out: Path, name: str, body: str, gaps: str, allow_fewer_rows: bool) -> Path:
    """`out/table.md`, unless it is there with more rows than this report has and that is not allowed."""
    page, table = _page(name, body, gaps), out / "table.md"
    before, after = (tables.body_rows(table.read_text()) if table.is_file() else 0), tables.body_rows(page)
    if after < before and not allow_fewer_rows:
        raise ReadeError(f"{table} has {before} table rows and this report {after}: not replaced. "
                         f"{gaps.strip() or 'No run is missing.'} Finish the runs, write elsewhere with out_dir=..., "
                         "or replace it anyway with allow_fewer_rows=true")
    if gaps:
        log.warning("%s: %s", name, gaps.strip())
    out.mkdir(parents=True, exist_ok=True)
    table.write_text(page)
    return table


def _table6(runs: list[Run], root: Path, out: Path, allow_fewer_rows: bool,
            pooled: list[Path]) -> tuple[list[Path], list[Run]]:
    no_cot, strategies = shown_jobs(runs, "ablation_no_cot", pooled), shown_jobs(runs, "learning_strategy", pooled)
    rows = tables.table6_rows(no_cot, strategies)
    if not rows:
        return [], []
    gaps = _gaps(tables.table6_missing(no_cot, strategies, runs),
                 _unfinished(runs, root, ("ablation_no_cot", "learning_strategy"), pooled))
    files = [_write_table(out, "table6", tables.table6(no_cot, strategies, root, runs), gaps, allow_fewer_rows)]
    figures.bars(out / "accuracy.png", [label for label, *_ in rows],
                 [tables.mean_metric(r, "eval/acc_dense") * 100 for *_, r in rows],
                 "Dense-caption intention accuracy by training recipe", "accuracy (%)")
    files.append(out / "accuracy.png")
    series = {label if len(group) == 1 else f"{label} (seed {run.config.get('seed')})":
              figures.step_series(run.folder / "steps.jsonl", "train/content_mean")
              for label, *_, group in rows for run in group if (run.folder / "steps.jsonl").is_file()}
    if series:
        figures.curves(out / "reward_curves.png", series, "Mean content reward of the sampled completions", "content reward")
        files.append(out / "reward_curves.png")
    return files, [r for *_, group in rows for r in group] + list(tables.baselines(runs).values())


def _learning_strategy(runs: list[Run], root: Path, out: Path, allow_fewer_rows: bool,
                       pooled: list[Path]) -> tuple[list[Path], list[Run]]:
    strategies = shown_jobs(runs, "learning_strategy", pooled)
    if not strategies:
        return [], []
    gaps = _gaps(tables.learning_strategy_missing(strategies, runs),
                 _unfinished(runs, root, ("learning_strategy",), pooled))
    table = _write_table(out, "learning_strategy", tables.learning_strategy(strategies, root, runs), gaps,
                         allow_fewer_rows)
    return [table], strategies + list(tables.baselines(runs).values())


def _generalization(runs: list[Run], root: Path, out: Path, allow_fewer_rows: bool,
                    pooled: list[Path]) -> tuple[list[Path], list[Run]]:
    grid = tables.generalization_grid([run for run in runs if run.task == "evaluate"])
    if not grid:
        return [], []
    gaps = _gaps(tables.generalization_missing(grid, runs), _unfinished(runs, root, ("generalization",), pooled))
    table = _write_table(out, "generalization", tables.generalization(grid, root, runs), gaps, allow_fewer_rows)
    trained, evaluated = tables.grid_axes(grid)
    figures.heatmap(out / "heatmap.png", trained, evaluated, tables.grid_values(grid), "Dense-caption intention accuracy (%)")
    extra = [run for kind in evaluated for run in tables.baselines(runs, kind).values()]
    return [table, out / "heatmap.png"], [run for cell in grid.values() for run in cell] + extra


WRITERS = {"table6": _table6, "learning_strategy": _learning_strategy, "generalization": _generalization}


@hydra.main(version_base="1.3", config_path="../conf", config_name="report")
def main(cfg: DictConfig) -> None:
    with exit_on_user_error(log):
        report(cfg)


if __name__ == "__main__":
    main()

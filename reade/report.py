"""python -m reade.report — the paper's tables and figures from finished runs (no wandb needed).

Thin: find the finished jobs under `runs_dir`, pick each experiment's latest sweep, and write every
asked report whose runs exist into `out_dir/<report>/` (`table.md` and PNG figures); a report whose
runs are missing is named with the command that makes them. Nothing to report exits 2. With
`bundle_dir`, what the reports read of their runs (metrics, Hydra configs, step logs; no
checkpoints) is copied there, so that `runs_dir=<bundle_dir>` rebuilds the same files anywhere.
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
from omegaconf import DictConfig

from reade.config import check_known_keys
from reade.errors import ConfigError, ReadeError, exit_on_user_error
from reade.results import figures, tables
from reade.results.runs import Run, bundle, find_runs, latest_sweep

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
    written, used = {}, []
    for name in cfg.reports:
        files, sources = WRITERS[name](runs, root, Path(cfg.out_dir) / name)
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
        log.info("copied what the reports read of %d runs to %s", len(used), cfg.bundle_dir)
    return written


def _page(name: str, body: str) -> str:
    title, what = HEADINGS[name]
    return f"# {title}\n\nWhat: {what}. Made by `{MAKES[name]}`, then `python -m reade.report`.\n\n{body}"


def _table6(runs: list[Run], root: Path, out: Path) -> tuple[list[Path], list[Run]]:
    no_cot, strategies = latest_sweep(runs, "ablation_no_cot"), latest_sweep(runs, "learning_strategy")
    rows = tables.table6_rows(no_cot, strategies)
    if not rows:
        return [], []
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(_page("table6", tables.table6(no_cot, strategies, root, runs)))
    figures.bars(out / "accuracy.png", [label for label, *_ in rows],
                 [tables.mean_metric(r, "eval/acc_dense") * 100 for *_, r in rows],
                 "Dense-caption intention accuracy by training recipe", "accuracy (%)")
    files = [out / "table.md", out / "accuracy.png"]
    series = {label if len(group) == 1 else f"{label} (seed {run.config.get('seed')})":
              figures.step_series(run.folder / "steps.jsonl", "train/content_mean")
              for label, *_, group in rows for run in group if (run.folder / "steps.jsonl").is_file()}
    if series:
        figures.curves(out / "reward_curves.png", series, "Mean content reward of the sampled completions", "content reward")
        files.append(out / "reward_curves.png")
    return files, [r for *_, group in rows for r in group] + list(tables.baselines(runs).values())


def _learning_strategy(runs: list[Run], root: Path, out: Path) -> tuple[list[Path], list[Run]]:
    strategies = latest_sweep(runs, "learning_strategy")
    if not strategies:
        return [], []
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(_page("learning_strategy", tables.learning_strategy(strategies, root, runs)))
    return [out / "table.md"], strategies + list(tables.baselines(runs).values())


def _generalization(runs: list[Run], root: Path, out: Path) -> tuple[list[Path], list[Run]]:
    grid = tables.generalization_grid([run for run in runs if run.task == "evaluate"])
    if not grid:
        return [], []
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(_page("generalization", tables.generalization(grid, root, runs)))
    trained, evaluated = tables.grid_axes(grid)
    figures.heatmap(out / "heatmap.png", trained, evaluated, tables.grid_values(grid), "Dense-caption intention accuracy (%)")
    extra = [run for kind in evaluated for run in tables.baselines(runs, kind).values()]
    return [out / "table.md", out / "heatmap.png"], list(grid.values()) + extra


WRITERS = {"table6": _table6, "learning_strategy": _learning_strategy, "generalization": _generalization}


@hydra.main(version_base="1.3", config_path="../conf", config_name="report")
def main(cfg: DictConfig) -> None:
    with exit_on_user_error(log):
        report(cfg)


if __name__ == "__main__":
    main()

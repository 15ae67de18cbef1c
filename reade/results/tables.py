"""The paper's tables as Markdown, built from finished runs (`runs.Run`).

Accuracies are the per-aspect intention accuracies every SFT and GRPO run writes after training
(`eval/acc_<aspect>`, `reade.caption_metrics`), shown in percent like the paper's; "inferable" is
the same over the elements a reader of the inputs could find; qualities are on its 0-5 scale; a GRPO
run's held-out content reward is recomputed under the paper's weights. A row of one run shows an
accuracy with its bootstrap 95 % interval over test rows (`61.2 [58.1, 64.3]`); a row of several
runs (seeds) shows their mean ± standard deviation, the 95 % Student-t interval of that mean and
their number (`61.2 ± 3.1 [53.5, 68.9] (n=3)`), and its other numbers are means. Two rows differ
beyond their intervals when those brackets do not overlap. What GRPO did to the captions (not only
to the reward it optimised) is a table of its own (`grpo_effect`). Rows without a model come first:
the baselines of `reade.baselines`, the latest `reade.evaluate baseline=...` job of each. A missing
number prints as "-". Each table ends with the run folders it came from, so the same folders
regenerate the same bytes. The rows a table should have and has no finished run for are named by
`*_missing` (`reade.report` prints them above the table).
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

import reade.config  # noqa: F401  (puts the reward schema the options of conf/reward/ name in the ConfigStore)
from reade.results.intervals import mean_and_sd, t_interval
from reade.results.runs import Run, trained_by
from reade.rewards.content import RewardWeights, content_reward

ASPECTS = ("main_object", "background", "action", "style", "camera")
ASPECT_TITLES = {"main_object": "Main object", "background": "Background", "action": "Action", "style": "Style",
                 "camera": "Camera", "dense": "Dense"}
CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
# The weights of R_user, R_detail, R_supp and R_contra in a reward config (eq. 4).
TERM_WEIGHTS = ("alpha", "rho", "gamma", "lam")
STRATEGY_TITLES = {"cot_only": "CoT only (SFT)", "no_cot_only": "no CoT (SFT, equal steps)",
                   "no_cot_equal_tokens": "no CoT (SFT, equal target tokens)", "grpo_only": "GRPO only (no CoT)",
                   "cot_grpo": "CoT + GRPO"}
KINDS = ("identity", "depth", "pose", "camera", "audio")
BASELINE_TITLES = {"gold": "gold caption (ceiling)", "instruction": "instruction copied", "constant": "most common caption"}


def number(value: float, scale: float = 1.0, digits: int = 2) -> str:
    return "-" if value is None or math.isnan(value) else f"{value * scale:.{digits}f}"


def markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows]) + "\n"


def sources_line(runs: Sequence[Run], root: Path) -> str:
    """The run folders under `root`, sweep jobs in number order (2 before 10)."""
    folders = sorted({str(run.folder.relative_to(root)) for run in runs},
                     key=lambda f: [int(p) if p.isdigit() else p for p in f.split("/")])
    return "\nRuns (under runs_dir): " + ", ".join(f"`{folder}`" for folder in folders) + ".\n"


def by_choice(runs: Sequence[Run], group: str) -> dict[str, list[Run]]:
    """The runs of each choice of a config group, in run order (several when a sweep has seeds)."""
    chosen: dict[str, list[Run]] = {}
    for run in runs:
        chosen.setdefault(run.choices.get(group), []).append(run)
    return chosen


def baselines(runs: Sequence[Run], condition: str | None = None) -> dict[str, Run]:
    """The latest evaluation job of each baseline, in `BASELINE_TITLES` order: jobs over every test row,
    or with `condition` only jobs on that condition's rows (`condition=<kind> only_condition_rows=true`)."""
    latest = {}
    for run in runs:
        name = run.config.get("baseline")
        if run.task != "evaluate" or name not in BASELINE_TITLES:
            continue
        on_kind_rows = bool(run.config.get("only_condition_rows"))
        if (condition is None and not on_kind_rows) or (on_kind_rows and run.choices.get("condition") == condition):
            latest[name] = run
    return {name: latest[name] for name in BASELINE_TITLES if name in latest}


def body_rows(page: str) -> int:
    """The table rows of a Markdown page, each table's header and separator left out."""
    lines = [line for line in page.splitlines() if line.startswith("|")]
    return len(lines) - 2 * sum(line.startswith("|---") for line in lines)


def mean_metric(runs: Sequence[Run], key: str) -> float:
    return mean_and_sd([run.metric(key) for run in runs])[0]


def plain(runs: Sequence[Run], key: str, scale: float = 1.0, digits: int = 2) -> str:
    return number(mean_metric(runs, key), scale, digits)


def with_interval(runs: Sequence[Run], key: str, scale: float = 100.0, digits: int = 1) -> str:
    """One run: the value and its bootstrap interval; several: mean ± sd over them, the t-interval of
    the mean, and their number."""
    if len(runs) == 1:
        run = runs[0]
        return bracketed(run.metric(key), run.metric(f"{key}_ci_low"), run.metric(f"{key}_ci_high"), scale, digits)
    return over_seeds([run.metric(key) for run in runs], scale, digits)


def bracketed(value: float, low: float, high: float, scale: float = 100.0, digits: int = 1) -> str:
    """`value [low, high]`, or the value alone where a bound is missing."""
    shown = number(value, scale, digits)
    if shown == "-" or math.isnan(low) or math.isnan(high):
        return shown
    return f"{shown} [{number(low, scale, digits)}, {number(high, scale, digits)}]"


def over_seeds(values: Sequence[float], scale: float = 100.0, digits: int = 1) -> str:
    """`mean ± sd [t-interval] (n=k)` of one number over the seeds of a row (NaN values left out)."""
    kept = [v for v in values if not math.isnan(v)]
    if not kept:
        return "-"
    mean, sd = mean_and_sd(kept)
    if len(kept) == 1:
        return f"{number(mean, scale, digits)} (n=1)"
    low, high = t_interval(kept)
    return (f"{number(mean, scale, digits)} ± {number(sd, scale, digits)} "
            f"[{number(low, scale, digits)}, {number(high, scale, digits)}] (n={len(kept)})")


def paper_weighted_reward(run: Run) -> float:
    """The held-out content reward after GRPO under the paper's weights, from its components: each
    job logs eq. 4 under its own reward subset, which would not compare across rows."""
    terms = [run.metric(f"eval/{name}") for name in ("r_user", "r_detail", "r_supp", "r_contra")]
    return math.nan if any(math.isnan(t) for t in terms) else content_reward(*terms, RewardWeights())


@lru_cache(maxsize=1)
def reward_subsets() -> dict[str, tuple[bool, ...]]:
    """Table 6's reward rows without CoT: which of R_user, R_detail, R_supp, R_contra each option of
    conf/reward/ weighs, read from the options themselves (so a changed weight changes the table's
    marks), fewest terms first, the paper's row order."""
    subsets = {}
    for path in sorted((CONF_DIR / "reward").glob("*.yaml")):
        weights = _composed(f"reward/{path.stem}").reward
        subsets[path.stem] = tuple(weights[name] != 0 for name in TERM_WEIGHTS)
    return dict(sorted(subsets.items(), key=lambda item: sum(item[1])))


def _composed(config_name: str) -> DictConfig:
    if GlobalHydra.instance().is_initialized():  # inside `reade.report`'s own Hydra job
        return compose(config_name)
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        return compose(config_name)


def table6_spec() -> tuple[tuple[str, bool, tuple[bool, ...], str, str], ...]:
    """Table 6's model rows in the paper's order: (label, CoT, reward subset, config group, its choice)."""
    return (
        ("CoT only", True, (False,) * 4, "strategy", "cot_only"),
        ("no CoT, SFT only (equal steps)", False, (False,) * 4, "strategy", "no_cot_only"),
        ("no CoT, SFT only (equal target tokens)", False, (False,) * 4, "strategy", "no_cot_equal_tokens"),
        *((f"no CoT, reward={name}", False, subset, "reward", name) for name, subset in reward_subsets().items()),
        ("CoT + GRPO", True, (True,) * 4, "strategy", "cot_grpo"),
    )


def table6_rows(no_cot: Sequence[Run], strategies: Sequence[Run]) -> list[tuple[str, bool, tuple[bool, ...], list[Run]]]:
    """(label, CoT, reward subset, runs) in the paper's row order; rows without runs are left out."""
    chosen = {"reward": by_choice(no_cot, "reward"), "strategy": by_choice(strategies, "strategy")}
    return [(label, cot, subset, chosen[group][name]) for label, cot, subset, group, name in table6_spec()
            if name in chosen[group]]


def table6_missing(no_cot: Sequence[Run], strategies: Sequence[Run], reference: Sequence[Run]) -> list[str]:
    """The rows of Table 6 (baselines included) that no finished run makes."""
    shown = {label for label, *_ in table6_rows(no_cot, strategies)}
    return missing_baselines(reference) + [label for label, *_ in table6_spec() if label not in shown]


def learning_strategy_missing(strategies: Sequence[Run], reference: Sequence[Run]) -> list[str]:
    chosen = by_choice(strategies, "strategy")
    return missing_baselines(reference) + [title for name, title in STRATEGY_TITLES.items() if name not in chosen]


def generalization_missing(grid: dict[tuple[str, str], list[Run]], reference: Sequence[Run]) -> list[str]:
    """Fig. 3 asks for a model per kind evaluated on the rows of every kind, below the baselines on the
    same rows: what of that no finished evaluation gives."""
    missing = []
    for name, title in BASELINE_TITLES.items():
        kinds = [kind for kind in KINDS if name not in baselines(reference, kind)]
        if kinds:
            missing.append(f"{title} on the {', '.join(kinds)} rows")
    for trained in KINDS:
        absent = [kind for kind in KINDS if (trained, kind) not in grid]
        if len(absent) == len(KINDS):
            missing.append(f"trained on {trained}")
        else:
            missing += [f"trained on {trained}, evaluated on {kind}" for kind in absent]
    return missing


def missing_baselines(reference: Sequence[Run], condition: str | None = None) -> list[str]:
    present = baselines(reference, condition)
    return [title for name, title in BASELINE_TITLES.items() if name not in present]


def _five_aspects(runs: Sequence[Run]) -> float:
    aspects = [mean_metric(runs, f"eval/acc_{a}") for a in ASPECTS]
    kept = [a for a in aspects if not math.isnan(a)]
    return sum(kept) / len(kept) if kept else math.nan


DERIVED_BY_MODE = "eval/acc_derived_"
_NOT_A_MODE = ("_ci_low", "_ci_high", "_before")


def by_reasoning_mode(entries: Sequence[tuple[str, Sequence[Run]]]) -> str:
    """The derived elements' accuracy per reasoning mode (`eval/acc_derived_<mode>`), a row per entry:
    where CoT should matter most, the modes training showed only apart (`riddle_in_context`) above
    all. Empty when no run recorded a mode (runs made before the per-mode keys)."""
    modes = sorted({key.removeprefix(DERIVED_BY_MODE) for _, runs in entries for run in runs for key in run.metrics
                    if key.startswith(DERIVED_BY_MODE) and not key.endswith(_NOT_A_MODE)})
    if not modes:
        return ""
    body = [[label, *(with_interval(runs, DERIVED_BY_MODE + mode) for mode in modes)] for label, runs in entries]
    return ("\nDerived elements by reasoning mode (`eval/acc_derived_<mode>`, %; `riddle_in_context` is held out "
            "of training):\n\n" + markdown(["Row", *modes], body))


GRPO_MARK = "eval/reward_before"  # the held-out reward of the start: only a GRPO run scores it


def grpo_effect(entries: Sequence[tuple[str, Sequence[Run]]]) -> str:
    """What GRPO did to the captions, a row per GRPO entry: the inferable-element accuracy of its start
    (`eval/acc_inferable_dense_before`, scored on the same test rows before the first step) and after,
    their change paired by run (with several seeds, its t-interval: the test of "GRPO moved it"), and
    the held-out content reward it optimised, before and after, under the run's own weights. Empty when
    no entry is a GRPO run."""
    key = "eval/acc_inferable_dense"
    body = []
    for label, runs in entries:
        if not runs or any(math.isnan(run.metric(GRPO_MARK)) for run in runs):
            continue
        change = [run.metric(key) - run.metric(f"{key}_before") for run in runs]
        start = ", ".join(sorted({f"`{(run.config.get('stage') or {}).get('upstream')}`" for run in runs}))
        rewards = f"{plain(runs, GRPO_MARK, digits=3)} → {plain(runs, 'eval/reward', digits=3)}"
        body.append([label, start, with_interval(runs, f"{key}_before"), with_interval(runs, key),
                     over_seeds(change) if len(runs) > 1 else number(change[0], 100.0, 1), rewards])
    if not body:
        return ""
    header = ["GRPO row", "start", "Acc inferable (dense) before", "after", "change (after − before)",
              "content reward before → after"]
    return ("\nWhat GRPO did to the captions (inferable-element accuracy of its start and of its result on the same "
            "test rows, %; the change paired by run) and to the held-out content reward it optimised (its own "
            "weights):\n\n" + markdown(header, body))


def table6(no_cot: Sequence[Run], strategies: Sequence[Run], root: Path, reference: Sequence[Run] = ()) -> str:
    """`reference`: every run under the runs folder, where the baselines are looked up."""
    mark = {True: "✓", False: "-"}
    header = ["Row", "CoT", "R_user", "R_detail", "R_supp", "R_contra", "Acc (dense)", "Acc inferable (dense)",
              "text / cond. / derived", "Qual. (dense)", "Acc (5 aspects)", "R, eq. 4 (paper weights)", "Format rate"]
    rows = table6_rows(no_cot, strategies)
    extra = baselines(reference)
    body = []
    entries = [(BASELINE_TITLES[name], None, None, [run]) for name, run in extra.items()] + rows
    for label, cot, subset, runs in entries:
        marks = [mark[cot], *(mark[s] for s in subset)] if subset is not None else [""] * 5
        sources = " / ".join(plain(runs, f"eval/acc_{s}", 100, 1) for s in ("text", "condition", "derived"))
        reward = number(mean_and_sd([paper_weighted_reward(run) for run in runs])[0])
        body.append([label, *marks, with_interval(runs, "eval/acc_dense"), with_interval(runs, "eval/acc_inferable_dense"),
                     sources, plain(runs, "eval/quality_dense"), number(_five_aspects(runs), 100, 1), reward,
                     plain(runs, "eval/format_rate")])
    used = [run for *_, runs in entries for run in runs]
    labelled = [(label, runs) for label, *_, runs in entries]
    return markdown(header, body) + grpo_effect(labelled) + by_reasoning_mode(labelled) + sources_line(used, root)


def learning_strategy(strategies: Sequence[Run], root: Path, reference: Sequence[Run] = ()) -> str:
    chosen = by_choice(strategies, "strategy")
    header = ["Strategy", *(f"{ASPECT_TITLES[a]} Acc / Qual." for a in (*ASPECTS, "dense")),
              "Acc inferable (dense)", "Format rate"]
    entries = [(BASELINE_TITLES[name], [run]) for name, run in baselines(reference).items()]
    entries += [(title, chosen[name]) for name, title in STRATEGY_TITLES.items() if name in chosen]
    body = []
    for title, runs in entries:
        cells = [f"{plain(runs, f'eval/acc_{a}', 100, 1)} / {plain(runs, f'eval/quality_{a}')}" for a in (*ASPECTS, "dense")]
        body.append([title, *cells, with_interval(runs, "eval/acc_inferable_dense"), plain(runs, "eval/format_rate")])
    return (markdown(header, body) + grpo_effect(entries) + by_reasoning_mode(entries)
            + sources_line([run for _, runs in entries for run in runs], root))


def generalization_grid(evaluations: Sequence[Run], experiment: str = "generalization") -> dict[tuple[str, str], list[Run]]:
    """(training condition, evaluation condition) -> its evaluation jobs, one per checkpoint (the
    seeds of a cell), for the checkpoints of `experiment`'s latest training sweep; a later evaluation
    of the same checkpoint on the same kind replaces an earlier one."""
    latest: dict[tuple[str, str], tuple[dict, Run]] = {}
    for run in evaluations:
        trained = trained_by(run)
        if trained is not None and trained["choices"].get("experiment") == experiment:
            latest[(trained["folder"], run.choices["condition"])] = (trained, run)
    if not latest:
        return {}
    last = max(Path(trained["folder"]).parent for trained, _ in latest.values())
    grid: dict[tuple[str, str], list[Run]] = {}
    for (folder, evaluated), (trained, run) in latest.items():
        if Path(folder).parent == last:
            grid.setdefault((trained["choices"]["condition"], evaluated), []).append(run)
    return grid


def grid_axes(grid: dict[tuple[str, str], list[Run]]) -> tuple[list[str], list[str]]:
    """(training kinds, evaluation kinds) present in the grid, in the order of `KINDS`."""
    return [k for k in KINDS if any(t == k for t, _ in grid)], [k for k in KINDS if any(e == k for _, e in grid)]


def grid_values(grid: dict[tuple[str, str], list[Run]], key: str = "eval/acc_dense",
                scale: float = 100.0) -> list[list[float]]:
    """The heatmap's numbers, one row per training kind: a cell's mean over its seeds (NaN where a
    pair was not evaluated)."""
    trained, evaluated = grid_axes(grid)
    return [[mean_metric(grid[(t, e)], key) * scale if (t, e) in grid else math.nan for e in evaluated] for t in trained]


def generalization(grid: dict[tuple[str, str], list[Run]], root: Path, reference: Sequence[Run] = ()) -> str:
    """Two grids, the paper's dense accuracy and the inferable-only one, each with the baselines
    evaluated on the same kinds' rows above the trained models (a cell of several seeds: mean ± sd
    and the t-interval); then the rows per cell."""
    trained, evaluated = grid_axes(grid)
    header = ["trained on \\ evaluated on", *evaluated]
    extra = {e: baselines(reference, e) for e in evaluated}
    names = [name for name in BASELINE_TITLES if any(name in extra[e] for e in evaluated)]
    used = [run for cell in grid.values() for run in cell] + [run for runs in extra.values() for run in runs.values()]

    def table(key: str) -> str:
        body = [[BASELINE_TITLES[name], *(with_interval([extra[e][name]], key) if name in extra[e] else "-"
                                          for e in evaluated)] for name in names]
        body += [[t, *(with_interval(grid[(t, e)], key) if (t, e) in grid else "-" for e in evaluated)] for t in trained]
        return markdown(header, body)

    counts = [[t, *(number(grid[(t, e)][0].metric("eval/samples"), 1, 0) if (t, e) in grid else "-" for e in evaluated)]
              for t in trained]
    return (table("eval/acc_dense") + "\nInferable elements only (`eval/acc_inferable_dense`):\n\n"
            + table("eval/acc_inferable_dense") + "\nHeld-out rows per cell:\n\n" + markdown(header, counts)
            + sources_line(used, root))

"""The paper's tables as Markdown, built from finished runs (`runs.Run`).

Accuracies are the per-aspect intention accuracies every SFT and GRPO run writes after training
(`eval/acc_<aspect>`, `reade.evaluation`), shown in percent like the paper's; qualities are on its
0-5 scale; a GRPO run's held-out content reward is recomputed under the paper's weights. A missing number prints as "-". Each table ends with the run folders it came from, so
the same folders regenerate the same bytes.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

from reade.results.runs import Run, trained_by
from reade.rewards.content import RewardWeights, content_reward

ASPECTS = ("main_object", "background", "action", "style", "camera")
ASPECT_TITLES = {"main_object": "Main object", "background": "Background", "action": "Action", "style": "Style",
                 "camera": "Camera", "dense": "Dense"}
# Table 6's reward rows without CoT: which of R_user, R_detail, R_supp, R_contra each reward config uses.
REWARD_SUBSETS = {
    "user": (True, False, False, False),
    "user_detail": (True, True, False, False),
    "user_detail_supp": (True, True, True, False),
    "full": (True, True, True, True),
}
STRATEGY_TITLES = {"cot_only": "CoT only (SFT)", "grpo_only": "GRPO only (no CoT)", "cot_grpo": "CoT + GRPO"}
KINDS = ("identity", "depth", "pose", "camera", "audio")


def number(value: float, scale: float = 1.0, digits: int = 2) -> str:
    return "-" if value is None or math.isnan(value) else f"{value * scale:.{digits}f}"


def markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows]) + "\n"


def sources(runs: Sequence[Run], root: Path) -> str:
    """The run folders under `root`, sweep jobs in number order (2 before 10)."""
    folders = sorted({str(run.folder.relative_to(root)) for run in runs},
                     key=lambda f: [int(p) if p.isdigit() else p for p in f.split("/")])
    return "\nRuns (under runs_dir): " + ", ".join(f"`{folder}`" for folder in folders) + ".\n"


def by_choice(runs: Sequence[Run], group: str) -> dict[str, Run]:
    return {run.choices.get(group): run for run in runs}


def paper_weighted_reward(run: Run) -> float:
    """The held-out content reward after GRPO under the paper's weights, from its components: each
    job logs eq. 4 under its own reward subset, which would not compare across rows."""
    terms = [run.metric(f"eval/{name}_after") for name in ("r_user", "r_detail", "r_supp", "r_contra")]
    return math.nan if any(math.isnan(t) for t in terms) else content_reward(*terms, RewardWeights())


def table6_rows(no_cot: Sequence[Run], strategies: Sequence[Run]) -> list[tuple[str, bool, tuple[bool, ...], Run]]:
    """(label, CoT, reward subset, run) in the paper's row order; rows whose run is missing are left out."""
    rewards, chosen = by_choice(no_cot, "reward"), by_choice(strategies, "strategy")
    rows = []
    if "cot_only" in chosen:
        rows.append(("CoT only", True, (False,) * 4, chosen["cot_only"]))
    rows += [(f"no CoT, reward={name}", False, subset, rewards[name]) for name, subset in REWARD_SUBSETS.items()
             if name in rewards]
    if "cot_grpo" in chosen:
        rows.append(("CoT + GRPO", True, (True,) * 4, chosen["cot_grpo"]))
    return rows


def table6(no_cot: Sequence[Run], strategies: Sequence[Run], root: Path) -> str:
    mark = {True: "✓", False: "-"}
    header = ["CoT", "R_user", "R_detail", "R_supp", "R_contra", "Acc (dense)", "Qual. (dense)",
              "Acc (5 aspects)", "R, eq. 4 (paper weights)", "Format rate"]
    rows = table6_rows(no_cot, strategies)
    body = []
    for _, cot, subset, run in rows:
        aspects = [run.metric(f"eval/acc_{a}") for a in ASPECTS]
        kept = [a for a in aspects if not math.isnan(a)]
        body.append([mark[cot], *(mark[s] for s in subset), number(run.metric("eval/acc_dense"), 100, 1),
                     number(run.metric("eval/quality_dense")), number(sum(kept) / len(kept) if kept else math.nan, 100, 1),
                     number(paper_weighted_reward(run)), number(run.metric("eval/format_rate"))])
    return markdown(header, body) + sources([run for *_, run in rows], root)


def learning_strategy(strategies: Sequence[Run], root: Path) -> str:
    chosen = by_choice(strategies, "strategy")
    header = ["Strategy", *(f"{ASPECT_TITLES[a]} Acc / Qual." for a in (*ASPECTS, "dense")), "Format rate"]
    body = []
    for name, title in STRATEGY_TITLES.items():
        if name not in chosen:
            continue
        run = chosen[name]
        cells = [f"{number(run.metric(f'eval/acc_{a}'), 100, 1)} / {number(run.metric(f'eval/quality_{a}'))}"
                 for a in (*ASPECTS, "dense")]
        body.append([title, *cells, number(run.metric("eval/format_rate"))])
    return markdown(header, body) + sources([chosen[n] for n in STRATEGY_TITLES if n in chosen], root)


def generalization_grid(evaluations: Sequence[Run], experiment: str = "generalization") -> dict[tuple[str, str], Run]:
    """(training condition, evaluation condition) -> the evaluation job, for checkpoints trained by
    `experiment`; a later evaluation of the same pair replaces an earlier one."""
    grid = {}
    for run in evaluations:
        trained = trained_by(run)
        if trained is not None and trained["choices"].get("experiment") == experiment:
            grid[(trained["choices"]["condition"], run.choices["condition"])] = run
    return grid


def grid_axes(grid: dict[tuple[str, str], Run]) -> tuple[list[str], list[str]]:
    """(training kinds, evaluation kinds) present in the grid, in the order of `KINDS`."""
    return [k for k in KINDS if any(t == k for t, _ in grid)], [k for k in KINDS if any(e == k for _, e in grid)]


def grid_values(grid: dict[tuple[str, str], Run], key: str = "eval/acc_dense", scale: float = 100.0) -> list[list[float]]:
    """The heatmap's numbers, one row per training kind (NaN where a pair was not evaluated)."""
    trained, evaluated = grid_axes(grid)
    return [[grid[(t, e)].metric(key) * scale if (t, e) in grid else math.nan for e in evaluated] for t in trained]


def generalization(grid: dict[tuple[str, str], Run], root: Path) -> str:
    trained, evaluated = grid_axes(grid)
    header = ["trained on \\ evaluated on", *evaluated]
    body = [[t, *(number(grid[(t, e)].metric("eval/acc_dense"), 100, 1) if (t, e) in grid else "-" for e in evaluated)]
            for t in trained]
    counts = [[t, *(number(grid[(t, e)].metric("eval/samples"), 1, 0) if (t, e) in grid else "-" for e in evaluated)]
              for t in trained]
    return (markdown(header, body) + "\nHeld-out rows per cell:\n\n" + markdown(header, counts)
            + sources(list(grid.values()), root))

# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 — Results: load a finished sweep and look at it
#
# A finished job leaves everything a reviewer needs in its folder: `metrics.json` (the held-out
# numbers), `.hydra/` (which experiment, reward subset, strategy or condition it ran) and, for GRPO,
# `steps.jsonl` (one line of training metrics per step). `reade.results` reads those folders without
# wandb. This notebook reads the bundle the repository commits under `experiments/runs` (what
# `python -m reade.report bundle_dir=experiments/runs` copied of the mini Table 6 and Fig. 3 runs);
# point `RUNS` at your own `logs/` (`project_root() / "logs"`) to look at your sweeps. It never trains.

# %%
import matplotlib.pyplot as plt

from reade.results import tables
from reade.results.figures import step_series
from reade.results.runs import chosen_sweeps, find_runs, shown_jobs
from reade.utils.project import project_root

RUNS = project_root() / "experiments" / "runs"  # the clone the kernel starts in, or $READE_ROOT
runs = find_runs(RUNS)
pooled = chosen_sweeps(RUNS, None, runs)  # the sweeps a bundle pooled (its sweeps.yaml): seeds launched apart
print(f"{len(runs)} finished jobs under {RUNS}; pooled sweeps: {[str(s.relative_to(RUNS)) for s in pooled] or 'none'}")
for task in sorted({run.task for run in runs}):
    experiments = sorted({str(run.experiment) for run in runs if run.task == task})
    print(f"  {task}: experiments {experiments}")

# %% [markdown]
# ## The reward ablation without CoT (Table 6's middle rows)
#
# One GRPO job per reward subset and seed, each seed's started from its answer-only SFT run. `eval/acc_dense` is
# the fraction of the gold key elements the judge finds in the dense caption of the held-out outputs;
# `eval/acc_inferable_dense` the same over the elements a reader of the inputs could find;
# `eval/reward_before` / `eval/reward` the mean content reward (eq. 4) before and after GRPO.

# %%
no_cot = shown_jobs(runs, "ablation_no_cot", pooled)
print(f"{'reward':<18}{'seed':>5}{'acc dense':>10}{'inferable':>10}{'qual dense':>11}{'reward before':>15}{'after':>8}")
for run in no_cot:
    print(f"{run.choices['reward']:<18}{run.config.get('seed')!s:>5}{100 * run.metric('eval/acc_dense'):>10.1f}"
          f"{100 * run.metric('eval/acc_inferable_dense'):>10.1f}{run.metric('eval/quality_dense'):>11.2f}"
          f"{run.metric('eval/reward_before'):>15.3f}{run.metric('eval/reward'):>8.3f}")

# %% [markdown]
# ## Reward curves
#
# The mean content reward of the sampled completions at every GRPO step (a trailing mean over 5
# steps). Each curve is scored with its own reward subset, so the levels differ by construction;
# the slope is what to compare.

# %%
figure, axes = plt.subplots(figsize=(7, 3.5))
for run in no_cot:
    steps, values = step_series(run.folder / "steps.jsonl", "train/content_mean")
    smooth = [sum(values[max(0, i - 4): i + 1]) / len(values[max(0, i - 4): i + 1]) for i in range(len(values))]
    axes.plot(steps, smooth, label=f"{run.choices['reward']} (seed {run.config.get('seed')})")
axes.set_xlabel("GRPO step")
axes.set_ylabel("content reward")
axes.legend()
plt.show()

# %% [markdown]
# ## Learning strategies and the whole Table 6
#
# The same Markdown `python -m reade.report` writes to `experiments/table6/table.md`.

# %%
strategies = shown_jobs(runs, "learning_strategy", pooled)
print(tables.table6(no_cot, strategies, RUNS, runs))
print(tables.learning_strategy(strategies, RUNS, runs))

# %% [markdown]
# ## Generalization across condition kinds (Fig. 3)
#
# Each evaluation job records which training job made its checkpoint (`checkpoint.json`); the grid
# pairs the training condition with the evaluated one.

# %%
grid = tables.generalization_grid([run for run in runs if run.task == "evaluate"])
trained, evaluated = tables.grid_axes(grid)
values = tables.grid_values(grid)
figure, axes = plt.subplots(figsize=(6, 4))
image = axes.imshow(values, vmin=0, vmax=100)
axes.set_xticks(range(len(evaluated)), evaluated)
axes.set_yticks(range(len(trained)), trained)
axes.set_xlabel("evaluated on")
axes.set_ylabel("trained on")
figure.colorbar(image, label="dense caption intention accuracy (%)")
plt.show()

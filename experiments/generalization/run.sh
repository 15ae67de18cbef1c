#!/usr/bin/env bash
# Fig. 3 (mini) on the embedded default: one CoT + GRPO model per condition kind, each evaluated on the
# held-out rows of every kind (dense-caption intention accuracy), the baselines on the same rows,
# then the table and heatmap.
#   bash experiments/generalization/run.sh            # PY=... to use another interpreter
#   SEEDS=1,2,3 bash experiments/generalization/run.sh   # a model per kind and seed: each cell their mean ± sd
#   SWEEP=<its folder> ...   # again into an interrupted sweep: its finished upstream stages come from the stage cache
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
KINDS=identity,depth,pose,camera,audio
sweep=${SWEEP:-logs/train/multiruns/generalization/$(date +%Y-%m-%d_%H-%M-%S)}
"$PY" -m reade.train +experiment=generalization ${SEEDS:+"seed=$SEEDS"} "hydra.sweep.dir=$sweep" -m  # -m last: Hydra's parser
checkpoints=$(find "$sweep" -mindepth 2 -maxdepth 2 -name metrics.json -printf '%h\n' | sort | paste -sd, -)
"$PY" -m reade.evaluate "checkpoint=$checkpoints" "condition=$KINDS" only_condition_rows=true -m
"$PY" -m reade.evaluate baseline=gold,instruction,constant "condition=$KINDS" only_condition_rows=true -m  # each column's floor and ceiling
"$PY" -m reade.report 'reports=[generalization]'

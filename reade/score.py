"""python -m reade.score — score a JSONL of predictions with the reward assigner, resumably.

Thin: compose, build the judge and the weights the config names, hand over to
`reade.rewards.score_jsonl`, report the means and the share of rows without a verdict. A user error
(bad rows, an output made by another judge or weighting, a judge that answered for no row) exits 2
with its message.
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
from omegaconf import DictConfig

from reade.config import check_known_keys
from reade.errors import exit_on_user_error
from reade.rewards.assigner import RewardAssigner
from reade.rewards.score_jsonl import score_jsonl
from reade.utils.instantiate import build

log = logging.getLogger(__name__)


def score(cfg: DictConfig) -> dict[str, float]:
    check_known_keys(cfg)
    judge = build(cfg.judge)
    try:
        assigner = RewardAssigner(judge, build(cfg.reward))
        summary = score_jsonl(Path(cfg.input), Path(cfg.output), assigner, batch_size=cfg.batch_size,
                              prediction_field=cfg.prediction_field)
        summary.update(judge.stats.metrics())
    finally:
        judge.close()
    log.info("scored %s -> %s with judge %s", cfg.input, cfg.output, judge.identity())
    log.log(logging.WARNING if summary["nan_rows"] else logging.INFO,
            "rows without a verdict (null; a rerun onto the same output scores them again): %d of %d (%.1f %%)",
            summary["nan_rows"], summary["rows"], 100 * summary["nan_share"])
    for key, value in summary.items():
        log.info("  %-22s %s", key, f"{value:.4f}" if isinstance(value, float) else value)
    return summary


@hydra.main(config_path="../conf", config_name="score", version_base="1.3")
def main(cfg: DictConfig) -> None:
    with exit_on_user_error(log):
        score(cfg)


if __name__ == "__main__":
    main()

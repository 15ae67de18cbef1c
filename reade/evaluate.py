"""python -m reade.evaluate — caption metrics of an interpreter on a held-out split.

Thin: compose, load and check the test split (a bad row names file, line and field before any
model loads), decode greedily, score with `reade.evaluation` through the configured judge, write
`metrics.json` (`eval/acc_<aspect>`, `eval/quality_<aspect>`, `eval/format_rate`, ...) and
`eval_samples.jsonl` into the run folder, and log the same to the tracker. A user error exits 2.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import hydra
import torch
from omegaconf import DictConfig
from tqdm import tqdm

from reade.config import check_known_keys
from reade.data.collate import read_payloads
from reade.errors import ConfigError, ReadeError
from reade.evaluation import EvalItem, evaluate_items
from reade.lit.splits import SplitsDataModule
from reade.models.from_config import backbone_from_config
from reade.rl.rollout.decode import greedy_completions
from reade.schema import SampleKeyElements, StructuredCaption
from reade.utils.instantiate import build
from reade.utils.metrics import update_metrics
from reade.utils.tracking import close_logger, make_logger

log = logging.getLogger(__name__)


class TestSplit(SplitsDataModule):
    consumer = "evaluate"


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    check_known_keys(cfg)
    output_dir = Path(cfg.paths.output_dir)
    checkpoint = _checkpoint_folder(cfg.checkpoint)
    if not cfg.data.test_file:
        raise ConfigError("data.test_file is not set: evaluation needs a held-out split")
    data = TestSplit({"test": cfg.data.test_file}, list(cfg.condition.kinds), cfg.data.on_error, cfg.data.synthesize)
    data.load()
    rows = list(data.splits["test"])
    summary = dict(data.data_summary())
    if cfg.only_condition_rows and cfg.condition.kinds:
        kept = [row for row in rows if row["conditions"]]
        summary["data/test_rows_without_kind"] = len(rows) - len(kept)
        rows = kept
    if cfg.limit > 0:
        rows = rows[: cfg.limit]
    if not rows:
        raise ConfigError(f"no test rows left to evaluate (condition={cfg.condition.name}, limit={cfg.limit})")

    model, processor = backbone_from_config(cfg.backbone, cfg.paths.cache_dir, list(cfg.condition.kinds),
                                            init_checkpoint=checkpoint)
    model.eval()
    predictions = []
    with torch.no_grad():
        for start in tqdm(range(0, len(rows), cfg.batch_size), desc="decoding", unit="batch"):
            batch = rows[start : start + cfg.batch_size]
            prompts = processor([row["instruction"] for row in batch], [read_payloads(row) for row in batch])
            predictions += greedy_completions(model, processor, prompts, cfg.max_new_tokens)
    items = [
        EvalItem(row["id"], prediction, SampleKeyElements.from_dict(json.loads(row["key_elements"])),
                 StructuredCaption.from_dict(json.loads(row["caption"])) if row["caption"] else None)
        for row, prediction in zip(rows, predictions)
    ]

    judge = build(cfg.judge)
    try:
        scores, samples = evaluate_items(judge, items)
        summary.update(judge.stats.metrics("eval/judge/"))
    finally:
        judge.close()
    metrics = update_metrics(output_dir / "metrics.json", {**summary, **{f"eval/{k}": v for k, v in scores.items()}})
    (output_dir / "eval_samples.jsonl").write_text("".join(json.dumps(row) + "\n" for row in samples), encoding="utf-8")
    logger = make_logger(cfg, job_type="evaluate")
    failed = True
    try:
        logger.log_metrics(metrics, step=0)
        failed = False
    finally:
        close_logger(logger, failed)
    _report(scores, judge.backend, output_dir)
    return metrics


def _checkpoint_folder(checkpoint: str | None) -> str | None:
    """A run folder's `checkpoint/`, or the folder itself when it is a checkpoint."""
    if checkpoint is None:
        return None
    folder = Path(checkpoint)
    if (folder / "checkpoint" / "config.json").is_file():
        return str(folder / "checkpoint")
    if (folder / "config.json").is_file():
        return str(folder)
    raise ConfigError(f"checkpoint={checkpoint}: neither a run folder (with checkpoint/) nor a checkpoint folder (config.json)")


def _report(scores: dict[str, float], judge: str, output_dir: Path) -> None:
    aspects = [key[len("acc_"):] for key in scores if key.startswith("acc_")]
    lines = [f"{int(scores['samples'])} held-out rows, {judge} judge: format rate {scores['format_rate']:.3f}, "
             f"six-part answer rate {scores['answer_rate']:.3f}", f"{'aspect':<12} {'accuracy':>9} {'quality':>8}"]
    lines += [f"{a:<12} {scores[f'acc_{a}']:>9.3f} {scores[f'quality_{a}']:>8.2f}" for a in aspects]
    print("\n".join([f"run folder: {output_dir}", *lines]), flush=True)


@hydra.main(version_base="1.3", config_path="../conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    try:
        evaluate(cfg)
    except ReadeError as error:
        log.error("%s", error)
        sys.exit(2)


if __name__ == "__main__":
    main()

"""python -m reade.evaluate — caption metrics of an interpreter on a held-out split.

Thin: compose, load and check the test split (a bad row names file, line and field before any
model loads), decode greedily (or, with `baseline=gold|instruction|constant`, take a baseline's
outputs: `reade.baselines`), score with `reade.caption_metrics` through the configured judge, write
`metrics.json` (`eval/acc_<aspect>`, `eval/acc_inferable_<aspect>`, `eval/quality_<aspect>`,
`eval/format_rate`, ..., each with `_ci_low`/`_ci_high`) and `eval_samples.jsonl` into the run
folder, and log the same to the tracker. A user error exits 2.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import hydra
import torch
import yaml
from lightning.fabric.utilities.apply_func import move_data_to_device
from omegaconf import DictConfig
from tqdm import tqdm

from reade.baselines import BASELINES, baseline_outputs
from reade.caption_metrics import caption_scores, report_lines
from reade.config import check_known_keys
from reade.data.condition_files import read_payloads
from reade.data.jsonl import check_samples
from reade.errors import ConfigError, DataError, exit_on_user_error
from reade.lit.splits import test_rows
from reade.models.backbone import RUN_CONFIG_FILE
from reade.models.decoding import greedy_completions
from reade.models.from_config import backbone_from_config
from reade.results.runs import PROVENANCE_FILE, read_run
from reade.schema import StructuredCaption
from reade.utils.instantiate import build
from reade.utils.metrics import update_metrics
from reade.utils.tracking import close_logger, make_logger

log = logging.getLogger(__name__)


def greedy_outputs(model, processor, rows: list[dict], *, batch_size: int, max_new_tokens: int) -> list[str]:
    """The model's greedy output for each row, in order."""
    was_training = model.training
    model.eval()
    outputs = []
    try:
        with torch.no_grad():
            for start in tqdm(range(0, len(rows), batch_size), desc="decoding", unit="batch"):
                batch = rows[start : start + batch_size]
                prompts = processor([row["instruction"] for row in batch], [read_payloads(row) for row in batch])
                prompts = move_data_to_device(prompts, next(model.parameters()).device)
                outputs += greedy_completions(model, processor, prompts, max_new_tokens)
    finally:
        model.train(was_training)
    return outputs


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    check_known_keys(cfg)
    if cfg.baseline is not None and cfg.baseline not in BASELINES:
        raise ConfigError(f"baseline={cfg.baseline}: expected one of {list(BASELINES)} (or null for a model)")
    if cfg.baseline is not None and cfg.checkpoint is not None:
        raise ConfigError("baseline and checkpoint exclude each other: a baseline's outputs need no model")
    output_dir = Path(cfg.paths.output_dir)
    checkpoint = _checkpoint_folder(cfg.checkpoint)
    rows, summary = test_rows(cfg.data, list(cfg.condition.kinds), only_condition_rows=cfg.only_condition_rows,
                              limit=cfg.limit)
    if not rows:
        raise ConfigError(f"no test rows left to evaluate (condition={cfg.condition.name}, limit={cfg.limit})")
    if cfg.baseline is not None:
        texts = baseline_outputs(cfg.baseline, rows, _training_captions(cfg.data) if cfg.baseline == "constant" else [])
    else:
        model, processor = backbone_from_config(cfg.backbone, cfg.paths.cache_dir, list(cfg.condition.kinds),
                                                init_checkpoint=checkpoint)
        texts = greedy_outputs(model, processor, rows, batch_size=cfg.batch_size, max_new_tokens=cfg.max_new_tokens)
    outputs = [{"id": row["id"], "instruction": row["instruction"], "output": text} for row, text in zip(rows, texts)]
    judge = build(cfg.judge)
    try:
        scores = caption_scores(judge, rows, outputs, output_dir / "eval_samples.jsonl")
        summary.update(judge.stats.metrics("eval/judge/"))
    finally:
        judge.close()
    metrics = update_metrics(output_dir / "metrics.json", {**summary, **scores})
    write_provenance(output_dir / PROVENANCE_FILE, cfg.checkpoint, cfg.baseline)
    logger = make_logger(cfg, job_type="evaluate")
    failed = True
    try:
        logger.log_metrics(metrics, step=0)
        failed = False
    finally:
        close_logger(logger, failed)
    print("\n".join([f"run folder: {output_dir}", *report_lines(scores, judge.backend)]), flush=True)
    return metrics


def _training_captions(data: DictConfig) -> list[StructuredCaption]:
    """The training split's gold captions, which the constant baseline picks its caption from."""
    samples, problems, _ = check_samples(Path(data.train_file), ("caption",), progress=False)
    if problems:
        raise DataError(f"{data.train_file}: {len(problems)} problem(s) (the constant baseline reads its captions):",
                        problems)
    return [sample.caption for sample in samples]


def write_provenance(path: Path, checkpoint: str | None, baseline: str | None = None) -> None:
    """Which training job made the evaluated checkpoint (its experiment and config-group choices), or
    which baseline made the outputs, so `reade.report` can place this evaluation without following a
    path that may have moved."""
    trained = None
    if checkpoint is not None:
        folder = Path(checkpoint)
        run = read_run(folder) or read_run(folder.parent)
        exported = folder / "checkpoint" / RUN_CONFIG_FILE if (folder / "checkpoint").is_dir() else folder / RUN_CONFIG_FILE
        if run is not None:
            trained = {"folder": str(run.folder), "task": run.task, "choices": run.choices}
        elif exported.is_file():  # a run made without the CLI: its exported config still names stage and condition
            config = yaml.safe_load(exported.read_text())
            trained = {"folder": str(exported.parent.parent), "task": "train",
                       "choices": {"stage": config["stage"]["name"], "condition": config["condition"]["name"]}}
    record = {"checkpoint": checkpoint, "trained": trained, "baseline": baseline}
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


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


@hydra.main(version_base="1.3", config_path="../conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    with exit_on_user_error(log):
        evaluate(cfg)


if __name__ == "__main__":
    main()

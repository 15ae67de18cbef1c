"""python -m reade.evaluate — caption metrics of an interpreter on a held-out split.

Thin: compose, load and check the test split (a bad row names file, line and field before any
model loads), decode greedily (or, with `baseline=gold|instruction|constant`, take a baseline's
outputs: `reade.baselines`), score with `reade.evaluation` through the configured judge, write
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
from reade.config import check_known_keys
from reade.data.collate import read_payloads
from reade.data.jsonl import check_samples
from reade.errors import ConfigError, DataError, exit_on_user_error
from reade.evaluation import EvalItem, evaluate_items
from reade.lit.splits import SplitsDataModule
from reade.models.backbone import RUN_CONFIG_FILE
from reade.models.from_config import backbone_from_config
from reade.results.runs import PROVENANCE_FILE, read_run
from reade.rewards.aspects import ASPECT_PARTS
from reade.rewards.judges.base import Judge
from reade.rl.rollout.decode import greedy_completions
from reade.schema import SampleKeyElements, StructuredCaption
from reade.utils.instantiate import build
from reade.utils.metrics import update_metrics
from reade.utils.tracking import close_logger, make_logger

log = logging.getLogger(__name__)


class TestSplit(SplitsDataModule):
    consumer = "evaluate"


def test_rows(data: DictConfig, kinds: list[str], *, only_condition_rows: bool, limit: int) -> tuple[list[dict], dict]:
    """The checked test rows to score, and the data counts a reviewer needs (rows dropped and why)."""
    if not data.test_file:
        raise ConfigError("data.test_file is not set: evaluation needs a held-out split")
    split = TestSplit({"test": data.test_file}, kinds, data.on_error, data.synthesize)
    split.load()
    rows = list(split.splits["test"])
    summary = dict(split.data_summary())
    if only_condition_rows and kinds:
        kept = [row for row in rows if row["conditions"]]
        summary["data/test_rows_without_kind"] = len(rows) - len(kept)
        rows = kept
    return (rows[:limit] if limit > 0 else rows), summary


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


def caption_scores(judge: Judge, rows: list[dict], outputs: list[dict], samples_path: Path, tag: str = "") -> dict[str, float]:
    """`outputs` (a decoded row each: its `id` and `output`, and whatever else the decoder recorded)
    scored per aspect against the test `rows` with the same ids: `eval/<metric><tag>` numbers (an
    interval's bounds `eval/<metric><tag>_ci_low`), and one JSON line per output (what the decoder
    recorded, the row's key elements, then elements, found, quality) in `samples_path`: with its key
    elements the file is `reade.score` input as it stands (`prediction_field=output`)."""
    by_id = {row["id"]: row for row in rows}
    unknown = [output["id"] for output in outputs if output["id"] not in by_id]
    if unknown:
        raise ValueError(f"outputs for rows the test split does not hold: {unknown[:5]}")
    items = []
    for output in outputs:
        row = by_id[output["id"]]
        items.append(EvalItem(row["id"], output["output"], SampleKeyElements.from_dict(json.loads(row["key_elements"])),
                              StructuredCaption.from_dict(json.loads(row["caption"])) if row["caption"] else None,
                              kinds=frozenset(c["kind"] for c in row["conditions"]), group=row.get("reasoning")))
    scores, samples = evaluate_items(judge, items)
    samples_path.parent.mkdir(parents=True, exist_ok=True)
    lines = [{**output, "key_elements": item.key_elements.to_dict(), **sample}
             for output, item, sample in zip(outputs, items, samples)]
    samples_path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    log.info("caption metrics%s over %d rows (%s judge): %s", tag, len(items), judge.backend,
             ", ".join(f"{k} {v:.3f}" for k, v in scores.items() if k.startswith("acc_") and "_ci_" not in k))
    return {f"eval/{tagged(k, tag)}": v for k, v in scores.items()}


def tagged(name: str, tag: str) -> str:
    """`acc_dense` -> `acc_dense_before`, and `acc_dense_ci_low` -> `acc_dense_before_ci_low`."""
    for bound in ("_ci_low", "_ci_high"):
        if name.endswith(bound):
            return f"{name[: -len(bound)]}{tag}{bound}"
    return f"{name}{tag}"


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


def report_lines(scores: dict[str, float], judge: str) -> list[str]:
    """The printed table of `caption_scores`' numbers: each accuracy with its 95 % interval, the
    inferable-only accuracy beside it where the rows record provenance."""

    def cell(key: str) -> str:
        if f"eval/{key}" not in scores:
            return ""
        return f"{scores[f'eval/{key}']:.3f} [{scores[f'eval/{key}_ci_low']:.3f}, {scores[f'eval/{key}_ci_high']:.3f}]"

    lines = [f"{int(scores['eval/samples'])} held-out rows, {judge} judge: format rate {scores['eval/format_rate']:.3f}, "
             f"six-part answer rate {scores['eval/answer_rate']:.3f}",
             f"{'aspect':<12} {'accuracy [95% CI]':<24} {'inferable only [95% CI]':<24} {'quality':>7}"]
    lines += [f"{a:<12} {cell(f'acc_{a}'):<24} {cell(f'acc_inferable_{a}'):<24} {scores[f'eval/quality_{a}']:>7.2f}"
              for a in ASPECT_PARTS]
    return lines + [f"dense, {source:<21} {cell(f'acc_{source}')}" for source in ("text", "condition", "derived")
                    if f"eval/acc_{source}" in scores]


@hydra.main(version_base="1.3", config_path="../conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    with exit_on_user_error(log):
        evaluate(cfg)


if __name__ == "__main__":
    main()

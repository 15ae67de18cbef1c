"""python -m reade.train — run one training stage from the Hydra config tree in conf/.

Thin on purpose: compose, print the job's plan (reade.utils.chain: the stages it trains or reuses,
in order) and run it: reuse an identical finished run from the stage cache if there is one, else
check the data, train the upstream stage if this one starts from it and the stage cache has no
finished run, seed, build what the config names, evaluate before training, fit, export an HF
checkpoint, evaluate again, write metrics.json, and hand the sweeper `stage.optimized_metric`.
Each evaluation decodes the held-out rows once, in the stage's test loop, and scores those outputs
once: the stage's own metrics there, the per-aspect caption metrics (`reade.caption_metrics`) here. Keys
name the model after training plainly (`eval/format_rate`) and the model the stage started from
with `_before`. Every piece lives in an importable module; a user error (bad data, impossible
config) ends the job with its message and no traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from functools import partial
from pathlib import Path
from typing import Any, Callable

import hydra
import lightning as L
from hydra._internal.utils import get_args_parser
from omegaconf import DictConfig, OmegaConf

from reade.caption_metrics import caption_scores, report_lines
from reade.config import check_all_set, check_known_keys
from reade.data.lengths import TokenLimit, within_limit
from reade.errors import ConfigError, DataError, ReadeError, exit_on_user_error
from reade.lit.sharding import check_sharding, whole_model
from reade.lit.splits import test_rows
from reade.models.backbone import save_checkpoint
from reade.models.from_config import backbone_from_config, processor_from_config
from reade.rl.rollout.base import check_conditions
from reade.utils.chain import CONF_DIR, checked_checkpoint, job_plan, plan_lines, run_plan, shown_plan, with_stage_settings
from reade.utils.instantiate import build
from reade.utils.metrics import objective, update_metrics
from reade.utils.resume import resume_arguments
from reade.utils.stage_cache import launching_process, link_run
from reade.utils.tracking import close_logger, make_logger

log = logging.getLogger(__name__)


def train(cfg: DictConfig, start: Callable[[], str | None] | None = None) -> dict[str, Any]:
    """One stage. `start()` gives the folder it starts from (None: the backbone), asked once its data
    is checked: the job's plan trains an upstream there. Alone, a stage starts from
    `stage.init_checkpoint` or the backbone."""
    check_known_keys(cfg)
    check_all_set(cfg)
    check_sharding(cfg)
    check_conditions(cfg)
    output_dir = Path(cfg.paths.output_dir)
    settings = OmegaConf.to_object(cfg.stage)  # the stage's schema object (SFTSettings, GRPOSettings, ...), as it is
    datamodule = build(cfg.stage.datamodule)(settings=settings)
    datamodule.load()  # rows checked before minutes go into an upstream stage or a large backbone; lengths below
    caption_rows = _caption_rows(cfg)
    init = start() if start is not None else _alone(cfg)
    if init is not None:
        log.info("stage %s starts from %s", cfg.stage.name, init)
    _check_token_lengths(cfg, datamodule,
                         processor_from_config(cfg.backbone, cfg.paths.cache_dir, cfg.condition.kinds, init))
    L.seed_everything(cfg.seed, workers=True)
    load = partial(backbone_from_config, cfg.backbone, cfg.paths.cache_dir, cfg.condition.kinds, init_checkpoint=init)
    model, processor = load()
    datamodule.processor = processor
    module = build(cfg.stage.module)(model, processor, settings=settings)
    before, after = module.EVAL_TAGS

    logger = make_logger(cfg)
    judge = None
    failed = True
    try:
        callbacks = [build(node) for node in cfg.callbacks.values()]
        trainer = build(cfg.trainer, logger=logger, callbacks=callbacks)
        metrics: dict[str, Any] = dict(datamodule.data_summary())
        logger.log_metrics(metrics, step=0)
        if caption_rows and trainer.is_global_zero:
            judge = getattr(module, "judge", None) or build(cfg.judge)
        if cfg.stage.eval.untrained:
            module.eval_tag = before
            metrics.update(trainer.test(module, datamodule=datamodule)[0])
            if cfg.stage.eval.captions_before:
                metrics.update(_caption_metrics(judge, module, caption_rows, output_dir, before, logger))
        module.eval_tag = after
        trainer.fit(module, datamodule=datamodule, ckpt_path=_resume_path(cfg.ckpt_path, output_dir))
        metrics.update(trainer.callback_metrics)
        trained = whole_model(trainer, model, lambda: load()[0])  # None off rank 0
        if trained is not None:
            save_checkpoint(trained, processor, output_dir / "checkpoint", config=OmegaConf.to_yaml(cfg, resolve=True))
        del trained
        metrics.update(trainer.test(module, datamodule=datamodule)[0])
        metrics.update(_caption_metrics(judge, module, caption_rows, output_dir, after, logger))
        if trainer.is_global_zero:
            metrics = update_metrics(output_dir / "metrics.json", metrics)
        failed = False
    finally:
        if judge is not None and judge is not getattr(module, "judge", None):
            judge.close()
        close_logger(logger, failed)
    captions = report_lines(metrics, judge.backend) if judge is not None and "eval/acc_dense" in metrics else []
    print("\n".join([f"run folder: {output_dir}", *module.summary_lines(metrics), *captions]), flush=True)
    return metrics


def _check_token_lengths(cfg: DictConfig, datamodule, processor) -> None:
    """Every row of every split counted as its batches will hold it, instruction kept, with the
    processor the stage loads, before its model loads: a row too long stops the job now with its
    file and line (or is skipped, `data.on_error`), not at the random step that first keeps its
    instruction. Its camera placeholders depend on the camera encoder the stage starts from, so an
    upstream stage this one trains first comes before this check; that run checks its own rows."""
    if "max_prompt_length" in cfg.stage:
        limit = TokenLimit(processor, cfg.stage.max_prompt_length, "stage.max_prompt_length")  # GRPO: prompts only
    else:
        limit = TokenLimit(processor, cfg.data.max_length, "data.max_length")
    for split, dataset in datamodule.splits.items():
        datamodule.splits[split] = within_limit(dataset, datamodule.reports[split], limit, on_error=cfg.data.on_error,
                                                with_targets=split != "test")  # the test loop decodes prompts alone


def _caption_rows(cfg: DictConfig) -> list[dict[str, Any]]:
    """The test rows the trained model's captions are scored on (`stage.eval.captions`), checked
    before training: a split without key elements stops the job now, not after it trained."""
    if not cfg.stage.eval.captions:
        return []
    try:
        rows, _ = test_rows(cfg.data, list(cfg.condition.kinds), only_condition_rows=False, limit=cfg.stage.eval.limit)
    except DataError as error:
        raise DataError(f"{error}\n(the caption metrics need key_elements in the test rows; "
                        "stage.eval.captions=false skips them)") from error
    return rows


def _caption_metrics(judge, module, rows: list[dict[str, Any]], output_dir: Path, tag: str, logger) -> dict[str, float]:
    """The per-aspect caption metrics (`reade.caption_metrics`) of the outputs the test loop just decoded (rank 0 only:
    `judge` is None elsewhere, and when `stage.eval.captions` is off)."""
    if judge is None:
        return {}
    scores = caption_scores(judge, rows, module.eval_outputs, output_dir / f"eval_samples{tag}.jsonl", tag)
    logger.log_metrics(scores, step=module.global_step)
    return scores


def _alone(cfg: DictConfig) -> str | None:
    if cfg.stage.get("init_checkpoint"):
        return checked_checkpoint(cfg.stage.init_checkpoint)
    if cfg.stage.get("upstream"):
        raise ConfigError(f"stage {cfg.stage.name} starts from a stage={cfg.stage.upstream} run: train it through "
                         "run_job (the job's plan), or give stage.init_checkpoint or stage.upstream=null")
    return None


def run_job(cfg: DictConfig) -> dict[str, Any]:
    """A top-level job (its stage settings merged): its plan printed, then run; an identical finished
    run in the stage cache is reused, not retrained."""
    check_all_set(cfg)
    steps = job_plan(cfg)
    if launching_process():
        print("\n".join(plan_lines(steps)), flush=True)
    return run_plan(steps, train, lambda folder: _reuse(cfg, folder))


def _reuse(cfg: DictConfig, folder: Path) -> dict[str, Any]:
    """This run folder gets the cached run's checkpoint and metrics; the tracker records the reuse."""
    check_known_keys(cfg)
    output_dir = Path(cfg.paths.output_dir)
    link_run(folder, output_dir)
    metrics = json.loads((output_dir / "metrics.json").read_text())
    logger = make_logger(cfg)
    failed = True
    try:
        logger.log_hyperparams({"reused_run": str(folder)})
        logger.log_metrics(metrics, step=0)
        failed = False
    finally:
        close_logger(logger, failed)
    print(f"run folder: {output_dir}\nreused the identical finished run {folder} (no training)", flush=True)
    return metrics


def _resume_path(ckpt_path: str | None, output_dir: Path) -> str | None:
    if ckpt_path == "last":
        last = output_dir / "checkpoints" / "last.ckpt"
        if not last.exists():
            raise ReadeError(f"ckpt_path=last: {last} does not exist; resume a run in its own folder with "
                             "hydra.run.dir=<run> ckpt_path=last, or pass the path of a run's last.ckpt")
        return str(last)
    if ckpt_path is not None and not Path(ckpt_path).is_file():
        raise ReadeError(f"ckpt_path={ckpt_path}: no such file")
    return ckpt_path


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def hydra_main(cfg: DictConfig) -> float | None:
    with exit_on_user_error(log):  # console and <run>/train.log
        cfg = with_stage_settings(cfg)
        metrics = run_job(cfg)
        return objective(metrics, cfg.stage.optimized_metric) if launching_process() else None  # rank 0 evaluates


def main() -> None:
    """The command line: a resume in a run's own folder becomes that run's recorded one (or is refused)
    before Hydra reads it, since Hydra records a job before the job starts (reade.utils.resume).
    `--cfg job` (or `all`) prints the job's plan after its config, as comments: Hydra runs no job then."""
    with exit_on_user_error(log):
        sys.argv[1:] = resume_arguments(sys.argv[1:], CONF_DIR)
    hydra_main()
    args = get_args_parser().parse_args(sys.argv[1:])
    if args.cfg in ("job", "all") and args.package is None:
        with exit_on_user_error(log):
            print("\n".join(shown_plan(args.overrides)), flush=True)


if __name__ == "__main__":
    main()

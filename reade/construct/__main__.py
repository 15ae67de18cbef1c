"""python -m reade.construct — build CoT or key-element data with a teacher, or select the RL set
(conf/construct/construct.yaml).

Thin: compose, check, build the stage the config names. The teacher stages get their endpoints and go
to `reade.construct.run.construct`; stage select asks no teacher (no endpoint is built, no server
needed) and goes to `reade.construct.select.select`. The summary is logged; a user error exits 2
with its message.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

import reade.construct.config  # noqa: F401  (registers the schemas)
from reade.config import check_known_keys
from reade.construct.run import construct
from reade.construct.select import Selection, select
from reade.construct.teacher import Endpoints
from reade.errors import ConfigError, exit_on_user_error
from reade.utils.instantiate import build

log = logging.getLogger(__name__)


def run(cfg: DictConfig) -> dict[str, Any]:
    check_known_keys(cfg)
    stage = build(cfg.stage)
    if isinstance(stage, Selection):
        summary, statistics = select(stage, Path(cfg.input), Path(cfg.out_dir), [Path(p) for p in cfg.eval_files],
                                     progress=cfg.progress)
        print(statistics, flush=True)
    elif cfg.eval_files:
        raise ConfigError(f"eval_files is for stage=select; stage {stage.name} does not use it")
    else:
        summary = construct(
            stage,
            Path(cfg.input),
            Path(cfg.out_dir),
            endpoints(cfg),
            concurrency=cfg.concurrency,
            retry_rejects=cfg.retry_rejects,
            progress=cfg.progress,
        )
    for key, value in summary.items():
        if key not in ("endpoints", "strata"):  # long; in summary.json
            log.info("  %-22s %s", key, value)
    log.info("wrote %s", Path(cfg.out_dir) / "summary.json")
    return summary


def endpoints(cfg: DictConfig) -> Endpoints:
    """The teacher, vision and audio endpoints; one object where two nodes are the same endpoint
    (`vision='${teacher}'`), so that their requests share one bound and one token count."""
    teacher = build(cfg.teacher)
    resolved_teacher = OmegaConf.to_container(cfg.teacher, resolve=True)

    def same_or_new(node: DictConfig | None):
        if node is None:
            return None
        return teacher if OmegaConf.to_container(node, resolve=True) == resolved_teacher else build(node)

    vision = same_or_new(cfg.vision)
    audio = same_or_new(cfg.audio)
    return Endpoints(teacher, vision, audio)


@hydra.main(config_path="../../conf/construct", config_name="construct", version_base="1.3")
def main(cfg: DictConfig) -> None:
    with exit_on_user_error(log):
        run(cfg)


if __name__ == "__main__":
    main()

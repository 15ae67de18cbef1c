"""python -m reade.interpret — an instruction (or a JSONL of them) to reasoning, caption and generator prompt.

Thin: compose, load the checkpoint and the generator window the config names, then either print one
`Interpretation` as JSON on stdout or hand a JSONL over to `reade.inference.interpret_jsonl`.
A user error exits 2 with its message.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from reade.config import check_known_keys
from reade.errors import ConfigError, exit_on_user_error
from reade.inference import Interpreter, interpret_jsonl, generator_from_config

log = logging.getLogger(__name__)


def interpret(cfg: DictConfig) -> dict:
    """The single-mode interpretation as a dict, or the batch summary."""
    check_known_keys(cfg)
    batch = cfg.input is not None
    conditions = OmegaConf.to_container(cfg.conditions, resolve=True)
    if batch and (cfg.output is None or cfg.instruction is not None or conditions):
        raise ConfigError("batch mode: input=FILE.jsonl needs output=FILE.jsonl, and no instruction or conditions")
    if not batch and not (cfg.instruction or conditions):
        raise ConfigError("set instruction=... and/or conditions=[...], or input=rows.jsonl output=out.jsonl")
    interpreter = Interpreter.from_pretrained(
        cfg.checkpoint,
        device=cfg.device,
        dtype=cfg.dtype,
        generator=generator_from_config(cfg.generator),
        max_new_tokens=cfg.max_new_tokens,
        cache_dir=cfg.paths.cache_dir,
        temperature=cfg.temperature,
        top_p=cfg.top_p,
    )
    if not batch:
        result = interpreter.interpret(cfg.instruction or "", conditions, sample=cfg.sample, seed=cfg.seed).to_dict()
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return result
    summary = interpret_jsonl(interpreter, Path(cfg.input), Path(cfg.output), batch_size=cfg.batch_size,
                              on_error=cfg.on_error, sample=cfg.sample, seed=cfg.seed)
    log.info("interpreted %s -> %s with %s, generator %s (%s)", cfg.input, cfg.output, interpreter.checkpoint,
             interpreter.prompter.generator.name, interpreter.prompter.counter.name)
    for key, value in summary.items():
        log.info("  %-18s %s", key, f"{value:.4f}" if isinstance(value, float) else value)
    return summary


@hydra.main(config_path="../conf", config_name="interpret", version_base="1.3")
def main(cfg: DictConfig) -> None:
    with exit_on_user_error(log):
        interpret(cfg)


if __name__ == "__main__":
    main()

"""Unknown keys under a schema-typed node, named with a suggestion: a misspelt key is an error; and
values a schema leaves MISSING that nothing set, named all at once: a forgotten value is an error."""

from __future__ import annotations

import difflib
from dataclasses import fields, is_dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf

from reade.errors import ConfigError


def unknown_keys(node: Any, path: str = "") -> list[str]:
    """Every key under a schema-typed node that its dataclass does not declare, with a suggestion."""
    problems = []
    if not isinstance(node, DictConfig):
        return problems
    schema = OmegaConf.get_type(node)
    allowed = [f.name for f in fields(schema)] if is_dataclass(schema) else None
    for key in node.keys():
        if allowed is not None and key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean {path}{close[0]}?)" if close else f" (known: {', '.join(allowed)})"
            problems.append(f"{path}{key} is not a field of {schema.__name__}{hint}")
        problems.extend(unknown_keys(node._get_node(key), f"{path}{key}."))
    return problems


def check_known_keys(cfg: DictConfig) -> None:
    problems = unknown_keys(cfg)
    if problems:
        raise ConfigError("unknown config keys:\n  " + "\n  ".join(problems))


def check_all_set(cfg: DictConfig) -> None:
    unset = sorted(OmegaConf.missing_keys(cfg))
    if unset:
        raise ConfigError("config values not set (a conf/ file or the command line sets each):\n  " + "\n  ".join(unset))

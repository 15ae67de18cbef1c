"""Every value of the training config is stated once: a conf/ file never sets a key to the value it
already has from what it builds on (its schema's default, the option it extends, or for a profile
the stage's recipe), and what a schema leaves MISSING every option sets."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from reade.config import check_all_set
from reade.errors import ConfigError
from tests.conftest import CONF, compose_config, compose_train, config_options

UNSET = object()
REQUIRED_BY_OPTION = {
    ("backbone", "local"): ["backbone.name_or_path=/tmp/ckpt"],
    ("data", "jsonl"): ["data.train_file=/tmp/train.jsonl"],
}
ENTRY_BY_GROUP = {"generator": "interpret"}  # the group's config tree, when not conf/train.yaml's


def schema_groups() -> list[str]:
    """The groups whose options extend a `base_*` schema that reade.config puts in the ConfigStore."""
    stored = ConfigStore.instance().repo
    return sorted(p.name for p in CONF.iterdir() if p.is_dir() and p.name in stored and any(
        isinstance(entry, str) and entry.startswith("base_")
        for option in p.glob("*.yaml") for entry in OmegaConf.load(option).get("defaults", [])))


def leaves(node: dict, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in node.items():
        if isinstance(value, dict) and value:
            yield from leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def lookup(node: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return UNSET
        node = node[key]
    return node


def merged(base: dict, body: dict) -> dict:
    out = dict(base)
    for key, value in body.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def composed(folder: Path, group: str, option: str, base: dict, repeats: set[str]) -> dict:
    """`base` with conf/<group>/<option>.yaml merged in as Hydra merges it (its defaults list in
    order); every key its own body sets to the value it already has goes into `repeats`."""
    body = OmegaConf.to_container(OmegaConf.load(folder / f"{option}.yaml"))
    for entry in body.pop("defaults", ["_self_"]):
        if entry == "_self_":
            repeats.update(f"{group}/{option}.yaml: {key}: {value!r}" for key, value in leaves(body)
                           if lookup(base, key) == value and value != "???")
            base = merged(base, body)
        elif isinstance(entry, dict):  # a group nested in this one (`optimizer: adamw`), merged at its key
            ((key, choice),) = entry.items()
            inner = lookup(base, key)
            base = merged(base, {key: composed(folder / key, f"{group}/{key}", choice, {} if inner is UNSET else inner, repeats)})
        elif entry.startswith("base_"):
            base = merged(base, OmegaConf.to_container(ConfigStore.instance().load(f"{group}/{entry}.yaml").node))
        else:
            base = composed(folder, group, entry, base, repeats)
    return base


def stage_of(profile: str) -> tuple[str, str]:
    """A profile is named <stage>_<backbone>."""
    (choice,) = [(s, profile.removeprefix(f"{s}_")) for s in config_options("stage")
                 if profile.removeprefix(f"{s}_") in config_options("backbone")]
    return choice


def test_the_guard_sees_every_group_and_profile():
    assert {"stage", "backbone", "judge", "reward", "trainer", "data", "generator"} <= set(schema_groups())
    assert {stage_of(p)[0] for p in config_options("profile")} == {"sft", "sft_no_cot", "grpo", "camera_pretrain", "ground"}


@pytest.mark.parametrize("group", schema_groups())
def test_no_option_repeats_what_it_builds_on(group):
    repeats: set[str] = set()
    for option in config_options(group):
        composed(CONF / group, group, option, {}, repeats)
    assert not repeats, "stated twice (keep the value in one place):\n" + "\n".join(sorted(repeats))


@pytest.mark.parametrize("profile", config_options("profile"))
def test_a_profile_states_only_where_it_differs_from_its_stage(profile):
    repeats: set[str] = set()
    stage = composed(CONF / "stage", "stage", stage_of(profile)[0], {}, set())
    composed(CONF / "profile", "profile", profile, stage, repeats)
    assert not repeats, "the stage file already says this:\n" + "\n".join(sorted(repeats))


def test_the_guard_finds_a_repeat():
    repeats: set[str] = set()
    base = composed(CONF / "stage", "stage", "grpo", {}, set())
    assert lookup(base, "optimizer.weight_decay") == 0.01 and lookup(base, "share_prompts") is True
    composed(CONF / "profile", "profile", "grpo_tiny", merged(base, {"micro_batch_size": 8}), repeats)
    assert repeats == {"profile/grpo_tiny.yaml: micro_batch_size: 8"}


@pytest.mark.parametrize("group, option", [(g, o) for g in schema_groups() for o in config_options(g)])
def test_every_option_sets_what_its_schema_leaves_missing(group, option, tmp_path):
    overrides = [f"{group}={option}", *REQUIRED_BY_OPTION.get((group, option), [])]
    check_all_set(compose_config(ENTRY_BY_GROUP.get(group, "train"), overrides, tmp_path))


@pytest.mark.parametrize("profile", config_options("profile"))
def test_every_profile_composes_whole(profile, tmp_path):
    stage, backbone = stage_of(profile)
    cfg = compose_train([f"stage={stage}", f"backbone={backbone}"], tmp_path)
    check_all_set(cfg)
    assert HydraConfig.get().runtime.choices.profile == profile


def test_a_forgotten_value_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"not set.*\n  stage\.beta\n  stage\.optimizer\.lr$"):
        check_all_set(compose_train(["stage=grpo", "stage.beta=???", "stage.optimizer.lr=???"], tmp_path))

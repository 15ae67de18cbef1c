"""Shared fixtures: the repository's conf/ composed with Hydra's compose API, and a small
synthetic dataset written once per test session (the same generator `make train` uses)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict

import reade.config  # noqa: F401  (registers the schemas)

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"


# stage=camera_pretrain in a few real steps: the e2e tests' run, and the run notebooks/02_camera reads.
SMALL_CAMERA_PRETRAIN = [
    "stage=camera_pretrain",
    "stage.train_backbone=false",  # the paper's setting; the tiny profile trains the thinker too
    "logger=csv",
    "stage.data.synthesize.n_train=24",  # 3 batches: validation runs at the end of the epoch
    "stage.data.synthesize.n_val=4",
    "stage.data.synthesize.n_test=8",
    "stage.max_steps=3",
    "stage.batch_size=8",
    "stage.eval.limit=8",
    "stage.eval.batch_size=8",
    "stage.eval.max_new_tokens=8",
    "callbacks.model_checkpoint.every_n_train_steps=2",
    "trainer.log_every_n_steps=1",
    "trainer.enable_progress_bar=false",
]


def config_options(group: str) -> list[str]:
    """The option names of a config group: the YAML files in conf/<group>/."""
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def compose_train(overrides: list[str], output_dir: Path | None = None, conf_dir: Path = CONF):
    """Compose conf/train.yaml like `python -m reade.train` would, with ${hydra:…} resolvable."""
    return compose_config("train", overrides, output_dir, conf_dir)


def compose_config(name: str, overrides: list[str], output_dir: Path | None = None, conf_dir: Path = CONF):
    """Compose conf/<name>.yaml (of `conf_dir`, a copy where a test adds files) like its `@hydra.main` entry point would."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(conf_dir)):
        cfg = compose(name, overrides=overrides, return_hydra_config=True)
    if output_dir is not None:
        with open_dict(cfg):
            cfg.hydra.runtime.output_dir = str(output_dir)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]  # the job sees no hydra node, as under @hydra.main
    return cfg


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory) -> Path:
    from reade.data.synthesize import synthesize

    out = tmp_path_factory.mktemp("synthetic")
    synthesize(out, n_train=24, n_val=4, n_test=4, seed=0)
    return out


@pytest.fixture(scope="session")
def camera_backbone(tmp_path_factory) -> Path:
    """The tiny thinker with an untrained camera encoder of the tiny profile's sizes, saved as one
    checkpoint folder (what stage=camera_pretrain exports, without its minutes of training): SFT and
    GRPO runs with camera conditions start here (`stage.init_checkpoint`)."""
    from omegaconf import OmegaConf

    from reade.models.backbone import load_backbone, save_checkpoint
    from reade.models.from_config import backbone_path

    root = tmp_path_factory.mktemp("camera-backbone")
    cfg = compose_train(["stage=camera_pretrain", f"paths.root_dir={root}"], root / "out")
    model, processor = load_backbone(
        backbone_path(cfg.backbone, cfg.paths.cache_dir),
        camera_encoder=OmegaConf.to_container(cfg.stage.camera_encoder, resolve=True),
    )
    return save_checkpoint(model, processor, root / "checkpoint")

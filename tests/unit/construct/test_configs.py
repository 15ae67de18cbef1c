"""conf/construct/: every stage and teacher option composes and builds, typos fail, a user error exits 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import ConfigCompositionException

import reade.construct.config  # noqa: F401  (registers the schemas)
from reade.clients.openai_chat import ChatEndpoint
from reade.config import check_known_keys
from reade.construct.__main__ import endpoints
from reade.construct.cot import CotStage
from reade.construct.key_elements import KeyElementsStage
from reade.errors import ConfigError
from reade.utils.instantiate import build
from tests.conftest import CONF, ROOT

REQUIRED = ["input=in.jsonl"]
STAGES = {"cot": CotStage, "key_elements": KeyElementsStage}


def compose(overrides: list[str], tmp_path: Path):
    """conf/construct/construct.yaml as `python -m reade.construct` composes it (its own config dir)."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF / "construct")):
        return hydra_compose("construct", overrides=[*REQUIRED, f"out_dir={tmp_path}", *overrides])


@pytest.mark.parametrize("stage", sorted(STAGES))
@pytest.mark.parametrize("teacher", sorted(p.stem for p in (CONF / "construct" / "teacher").glob("*.yaml")))
def test_every_stage_and_teacher_composes_and_builds(stage, teacher, tmp_path):
    cfg = compose([f"stage={stage}", f"teacher={teacher}"], tmp_path)
    check_known_keys(cfg)
    assert isinstance(build(cfg.stage), STAGES[stage])
    built = endpoints(cfg)
    assert isinstance(built.teacher, ChatEndpoint) and built.vision is None and built.audio is None


def test_a_vision_node_equal_to_the_teacher_is_the_same_endpoint(tmp_path):
    built = endpoints(compose(["teacher=openai", "vision=${teacher}"], tmp_path))
    assert built.vision is built.teacher and built.teacher.cost() == 0.0
    other = endpoints(compose(["teacher@vision=local", "vision.model=a-vision-model",
                               "vision.base_url=http://127.0.0.1:8001/v1"], tmp_path))
    assert other.vision is not other.teacher and other.vision.model == "a-vision-model"
    assert other.vision.base_url == "http://127.0.0.1:8001/v1" and other.teacher.model == "Qwen/Qwen2.5-72B-Instruct"


@pytest.mark.parametrize("override", ["stage.retires=3", "teacher.modle=x", "stage=sft", "teacher.rpm=fast",
                                      "concurency=2"])
def test_typos_and_training_stages_fail_at_compose_time(override, tmp_path):
    with pytest.raises(ConfigCompositionException):
        compose([override], tmp_path)


def test_appended_typos_are_caught_before_anything_runs(tmp_path):
    cfg = compose(["+stage.retires=3"], tmp_path)
    with pytest.raises(ConfigError, match="did you mean stage.retries"):
        check_known_keys(cfg)


def test_a_user_error_ends_with_its_message_and_exit_status_2(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "reade.construct", f"input={tmp_path / 'missing.jsonl'}", f"out_dir={tmp_path / 'out'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2
    assert f"{tmp_path / 'missing.jsonl'}:0: file: no such file" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr

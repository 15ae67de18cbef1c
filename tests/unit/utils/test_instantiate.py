import pytest
from hydra.errors import InstantiationException
from omegaconf import OmegaConf

from reade.errors import ConfigError
from reade.utils.instantiate import build


def refuses_its_setting(setting: str) -> None:
    raise ConfigError(f"stage.frozen: {setting} names nothing")


def breaks(setting: str) -> None:
    raise KeyError(setting)


def test_a_user_error_from_a_constructor_reaches_the_caller_as_itself():
    node = OmegaConf.create({"_target_": f"{__name__}.refuses_its_setting", "setting": "visul"})
    with pytest.raises(ConfigError, match=r"^stage.frozen: visul names nothing$"):
        build(node)


def test_any_other_error_keeps_hydras_context():
    node = OmegaConf.create({"_target_": f"{__name__}.breaks", "setting": "x"})
    with pytest.raises(InstantiationException, match="breaks"):
        build(node)

"""Sharding in reade.train: which stage runs under which Lightning strategy (`trainer.strategy`),
`trainer=fsdp`'s strategy, and the trained model made whole after a sharded fit.

reade.train runs one Trainer through test (untrained), fit and test again. Lightning wraps the
LightningModule in a root FSDP unit at each call's setup, unless some submodule is an FSDP unit
already; after the first call the decoder layers are, so Lightning would hand the next call the bare
module, whose root weights (embeddings, media towers, norm, head) stay shards that nothing gathers.
`FSDPStrategy` keeps the first root unit for the module's later calls.

After fit the weights are shards on every rank; the HF export wants the whole model on rank 0
(`whole_model`). The caption metrics score the outputs the test loop decoded, so they need no copy.
"""

from __future__ import annotations

from typing import Any, Callable

import lightning as L
from hydra.utils import get_class
from lightning.pytorch.strategies import DeepSpeedStrategy, Strategy, StrategyRegistry
from lightning.pytorch.strategies import FSDPStrategy as LightningFSDPStrategy
from omegaconf import DictConfig
from torch import nn
from torch.distributed.fsdp import FullStateDictConfig, FullyShardedDataParallel, StateDictType

from reade.errors import ConfigError

SHARDING = (LightningFSDPStrategy, DeepSpeedStrategy)


class FSDPStrategy(LightningFSDPStrategy):
    _root: FullyShardedDataParallel | None = None

    def _setup_model(self, model: nn.Module) -> nn.Module:
        if self._root is None or self._root.module is not model:
            self._root = super()._setup_model(model)
        return self._root


def whole_model(trainer: L.Trainer, model: nn.Module, rebuild: Callable[[], nn.Module]) -> nn.Module | None:
    """On rank 0, `model` with all its trained weights; None on the other ranks.

    Unsharded strategies hold the whole model on every rank: `model` itself. Under FSDP every rank
    joins the gather of the full state dict (unit by unit, to rank 0's CPU), and rank 0
    loads it into `rebuild()`, a fresh model of the same structure, on the strategy's device."""
    root = trainer.strategy.model
    if not isinstance(root, FullyShardedDataParallel):
        return model if trainer.is_global_zero else None
    offload = trainer.strategy.root_device.type != "cpu"  # torch's offload crashes when the shards are on a CPU
    with FullyShardedDataParallel.state_dict_type(
        root, StateDictType.FULL_STATE_DICT, FullStateDictConfig(offload_to_cpu=offload, rank0_only=True)
    ):
        state = root.state_dict()  # collective: every rank calls it, rank 0 alone gets the tensors
    if not trainer.is_global_zero:
        return None
    prefix = next(name for name, child in trainer.lightning_module.named_children() if child is model) + "."
    copy = rebuild()
    copy.load_state_dict({key.removeprefix(prefix): value for key, value in state.items() if key.startswith(prefix)})
    return copy.to(trainer.strategy.root_device)


def strategy_class(node: Any) -> type[Strategy] | None:
    """The strategy class a `trainer.strategy` node names: a registry name ("ddp", "fsdp") or a node
    with `_target_`; None for "auto" and other names Lightning resolves by itself."""
    if isinstance(node, DictConfig) and "_target_" in node:
        return get_class(node._target_)
    if isinstance(node, str) and node in StrategyRegistry:
        return StrategyRegistry[node]["strategy"]
    return None


def check_sharding(cfg: DictConfig) -> None:
    """Refuse, before any work, a strategy the stage cannot train under.

    A stage module with `RUNS_SHARDED = False` (GRPO: manual optimisation that logs the norm of whole
    local gradients, and a reference copy outside the module) needs unsharded
    weights; Lightning's own FSDP strategy loses the root unit between reade.train's test and fit
    calls (see `FSDPStrategy`)."""
    strategy = strategy_class(cfg.trainer.get("strategy"))
    if strategy is None:
        return
    stage = get_class(cfg.stage.module._target_)
    if issubclass(strategy, SHARDING) and not getattr(stage, "RUNS_SHARDED", True):
        raise ConfigError(
            f"trainer.strategy: stage={cfg.stage.name} does not run under {strategy.__name__}, which shards "
            f"its weights ({stage.__name__} needs them whole); use trainer=ddp"
        )
    if issubclass(strategy, LightningFSDPStrategy) and not issubclass(strategy, FSDPStrategy):
        raise ConfigError(
            f"trainer.strategy: {strategy.__module__}.{strategy.__name__} re-wraps the model at each "
            f"fit/test call and leaves its root weights sharded; use trainer=fsdp ({FSDPStrategy.__module__}.FSDPStrategy)"
        )

"""reade's FSDPStrategy on CPU processes (gloo), for the 2-rank FSDP tests: CI has no GPU.

torch's FSDP needs `device_id=cpu` spelled out on a CPU, where Lightning passes the root device's
index (None there). This subclass wraps the module with the strategy's own settings on the CPU
first; Lightning's setup then sees a wrapped module and adds activation checkpointing, and every
other step (sharding, gathering, state dicts) is the strategy's own, except that Lightning's full
state dicts are gathered without offloading to the CPU (see `_full_state_dict_without_offload`).
"""

from __future__ import annotations

import lightning.pytorch.strategies.fsdp as lightning_fsdp
import torch
from torch.distributed.fsdp import FullOptimStateDictConfig, FullStateDictConfig, FullyShardedDataParallel, StateDictType

from reade.lit.sharding import FSDPStrategy


class CPUFSDPStrategy(FSDPStrategy):
    def _setup_model(self, model: torch.nn.Module) -> torch.nn.Module:
        if not any(isinstance(module, FullyShardedDataParallel) for module in model.modules()):
            model = FullyShardedDataParallel(
                module=model, cpu_offload=self.cpu_offload, mixed_precision=self.mixed_precision_config,
                sharding_strategy=self.sharding_strategy, device_id=torch.device("cpu"), **self.kwargs,
            )
        return super()._setup_model(model)


def _full_state_dict_without_offload(module, world_size, rank0_only=True):
    """Lightning's full state-dict context less `offload_to_cpu`: on CPU ranks the gathered tensors
    are on the CPU already, and torch's offload path crashes there (SIGSEGV in its all-gather)."""
    return FullyShardedDataParallel.state_dict_type(
        module, StateDictType.FULL_STATE_DICT, FullStateDictConfig(rank0_only=rank0_only),
        FullOptimStateDictConfig(rank0_only=rank0_only),
    )


lightning_fsdp._get_full_state_dict_context = _full_state_dict_without_offload

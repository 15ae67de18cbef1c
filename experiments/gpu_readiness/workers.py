"""One measured part in a process of its own, so that run.py can cap its time and an out-of-memory or
a crash stays inside it:

    python -m experiments.gpu_readiness.workers '<Spec as JSON>' <result.json>

The result file is rewritten after every optimizer step, so a part stopped at its cap still says
what it finished. SFT and GRPO steps run the repository's own modules (`reade.lit.sft.SFTModule`,
`reade.lit.grpo.GRPOModule`) under the Lightning Trainer that the composed `trainer` node builds,
on a model built from the real config with random weights (shapes.py), fed batches the
processor lays out (batches.py); `pytest` runs the gpu-marked tests. run.py turns the raw steps
into seconds per step, tokens/s, MFU and peak memory (report.py).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import lightning as L
import torch
from lightning.fabric.utilities.apply_func import move_data_to_device
from omegaconf import OmegaConf
from torch.utils.data import DataLoader

from reade.utils.instantiate import build

from experiments.gpu_readiness.batches import grpo_rows, sft_batch
from experiments.gpu_readiness.memory import GIB
from experiments.gpu_readiness.plan import Recipe, camera_node, decoder_of, recipe_terms
from experiments.gpu_readiness.recipes import Lengths, compose_train, lengths, stage_overrides
from experiments.gpu_readiness.shapes import count, matmul_parameters, parameter_counts, processor
from experiments.gpu_readiness.shapes import build as build_model
from experiments.gpu_readiness.throughput import forward_flops, train_flops

ROOT = Path(__file__).resolve().parents[2]
WARMUP_STEPS = 1


@dataclass(frozen=True)
class Spec:
    """`kind` sft | grpo | pytest; `setting` the trainer (sft) or rollout engine (grpo); `deadline` epoch seconds."""

    name: str
    kind: str
    size: str = ""
    tuning: str = ""
    setting: str = ""
    device: str = "cuda"
    steps: int = 3
    deadline: float = 0.0


class Record:
    """The part's result file, rewritten whole (through a temporary file) at every change."""

    def __init__(self, path: Path, spec: Spec):
        self.path = path
        self.data = {"spec": asdict(spec), "status": "running", "setup": {}, "steps": []}

    def save(self) -> None:
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps(self.data, indent=1))
        partial.replace(self.path)


def peak_memory_gib(device: torch.device) -> float:
    """The CUDA allocator's peak, or on a CPU the process's peak resident set (ru_maxrss, KiB)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / GIB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB


class StepClock(L.Callback):
    """Times each optimizer step (from the end of the previous one; the first from the start of
    training, the warm-up), records `work(trainer)` (tokens, FLOPs, phases) beside it, and stops the
    fit when another step would not end before the deadline."""

    def __init__(self, record: Record, deadline: float, work: Callable[[L.Trainer], dict]):
        self.record, self.deadline, self.work = record, deadline, work
        self.step, self.last = 0, 0.0

    def _sync(self, module: L.LightningModule) -> float:
        if module.device.type == "cuda":
            torch.cuda.synchronize(module.device)
        return time.perf_counter()

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.last = self._sync(pl_module)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx: int) -> None:
        if trainer.global_step == self.step:  # a micro-batch inside gradient accumulation
            return
        now = self._sync(pl_module)
        seconds, self.last, self.step = now - self.last, now, trainer.global_step
        if not self.record.data["steps"]:
            self.record.data["setup"]["optimizer_states"] = optimizer_state_dtypes(trainer.optimizers[0])
        self.record.data["steps"].append({"seconds": seconds, "peak_gib": peak_memory_gib(pl_module.device),
                                          **self.work(trainer)})
        self.record.save()
        if time.time() + 1.5 * seconds > self.deadline:
            trainer.should_stop = True


def optimizer_state_dtypes(optimizer: torch.optim.Optimizer) -> dict[str, int]:
    """Parameters per dtype of AdamW's first moment: the optimizer-state dtype the recipe ended up with."""
    counts = Counter()
    for state in optimizer.state.values():
        if "exp_avg" in state:
            counts[str(state["exp_avg"].dtype).removeprefix("torch.")] += state["exp_avg"].numel()
    return dict(counts)


def _same(item):
    """The loader's collate: each item is a whole micro-batch already."""
    return item


def fit(cfg, module: L.LightningModule, items: list, record: Record, spec: Spec, work: Callable[[L.Trainer], dict]) -> None:
    """`items` (one per micro-batch) through `cfg.trainer`, for one warm-up and `spec.steps` timed optimizer steps."""
    trainer = build(cfg.trainer, logger=False, callbacks=[StepClock(record, spec.deadline, work)],
                    max_steps=WARMUP_STEPS + spec.steps, max_epochs=-1, enable_checkpointing=False,
                    enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0, num_sanity_val_steps=0)
    trainer.fit(module, train_dataloaders=DataLoader(items, batch_size=None, collate_fn=_same))


def compose(spec: Spec, stage_args: list[str], output_dir: str):
    device = ["trainer.accelerator=cpu"] if spec.device == "cpu" else ["trainer.devices=1"]
    return compose_train([*stage_args, *device, f"paths.output_dir={output_dir}"])


def prepare(spec: Spec, record: Record, cfg, camera: dict | None):
    """The model and processor of the recipe `cfg` on the spec's device, and the dry plan's estimate for it."""
    device = torch.device(spec.device)
    made = processor(spec.size, camera)
    lora = OmegaConf.to_container(cfg.backbone.lora)
    started = time.perf_counter()
    model = build_model(spec.size, made, dtype=cfg.backbone.dtype, lora=lora, device=device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    precision = "fp32" if cfg.backbone.dtype == "float32" else "bf16"
    capacity = torch.cuda.get_device_properties(device).total_memory if device.type == "cuda" else \
        os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    terms = recipe_terms(spec.size, Recipe(spec.kind, spec.tuning, precision, spec.setting), model.config,
                         parameter_counts(spec.size, lora, camera_node(spec.size)), {"card": capacity})["card"]
    record.data["setup"].update(
        build_s=time.perf_counter() - started, weights_gib=peak_memory_gib(device), dtype=cfg.backbone.dtype,
        parameters=count(model.parameters()), trainable=count(p for p in model.parameters() if p.requires_grad),
        matmul_parameters=matmul_parameters(model), estimate_gib={k: v / GIB for k, v in terms.items()},
        capacity_gib=capacity / GIB,
    )
    record.save()
    return model, made


def run_sft(spec: Spec, record: Record, output_dir: str) -> None:
    lora = spec.tuning == "lora"
    cfg = compose(spec, stage_overrides("sft", spec.size, trainer=spec.setting, lora=lora), output_dir)
    shape = lengths(cfg, tiny=spec.size == "tiny")
    model, made = prepare(spec, record, cfg, camera_node(spec.size))
    batch = move_data_to_device(sft_batch(made, shape), torch.device(spec.device))
    record.data["setup"]["shape"] = asdict(shape)
    d = decoder_of(model.config)
    rows = shape.rows * shape.micro_batches
    flops = rows * train_flops(shape.tokens, record.data["setup"]["matmul_parameters"], d.layers, d.hidden, lora)
    module = build(cfg.stage.module)(model, made, settings=OmegaConf.to_object(cfg.stage))
    fit(cfg, module, [batch] * (shape.micro_batches * (WARMUP_STEPS + spec.steps)), record, spec,
        lambda trainer: {"tokens": rows * shape.tokens, "flops": flops})


def grpo_work(shape: Lengths, matmul: int, layers: int, hidden: int, lora: bool, reference: bool):
    """Per GRPO step, from what the module logged: the sampled completions' mean length sets the
    tokens of generation (a forward over prompt + completion, counted as one pass), the reference's
    forward and the policy's forward and backward."""

    def work(trainer: L.Trainer) -> dict:
        logged = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith(("time/", "completions/"))}
        completion = logged.get("completions/mean_length", float(shape.completion))
        tokens = shape.prompt + completion
        passes = forward_flops(tokens, matmul, layers, hidden) * (2 if reference else 1)
        flops = shape.generated * (passes + train_flops(tokens, matmul, layers, hidden, lora))
        phases = {k.removeprefix("time/").removesuffix("_s"): v for k, v in logged.items() if k.startswith("time/")}
        return {"tokens": shape.generated * tokens, "generated_tokens": shape.generated * completion, "flops": flops,
                "phases": phases}

    return work


def run_grpo(spec: Spec, record: Record, output_dir: str) -> None:
    lora = spec.tuning == "lora"
    cfg = compose(spec, stage_overrides("grpo", spec.size, rollout=spec.setting, lora=lora), output_dir)
    shape = lengths(cfg, tiny=spec.size == "tiny")
    model, made = prepare(spec, record, cfg, None)
    record.data["setup"]["shape"] = asdict(shape)
    rows = grpo_rows(made, shape, cfg.stage.prompts_per_step)
    d = decoder_of(model.config)
    module = build(cfg.stage.module)(model, made, settings=OmegaConf.to_object(cfg.stage))
    work = grpo_work(shape, record.data["setup"]["matmul_parameters"], d.layers, d.hidden, lora, cfg.stage.beta != 0.0)
    fit(cfg, module, [rows] * (WARMUP_STEPS + spec.steps), record, spec, work)


def run_pytest(spec: Spec, record: Record, output_dir: str) -> None:
    """`pytest -m gpu` in the repository, within the deadline."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider"], cwd=ROOT,
                          capture_output=True, text=True, timeout=max(1.0, spec.deadline - time.time()))
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    record.data["setup"].update(seconds=time.perf_counter() - started, returncode=done.returncode,
                                summary=lines[-1] if lines else "", tail="\n".join(lines[-40:]))
    if done.returncode != 0:
        raise RuntimeError(f"pytest -m gpu: {record.data['setup']['summary']}")


RUNNERS = {"sft": run_sft, "grpo": run_grpo, "pytest": run_pytest}


def main() -> None:
    spec, path = Spec(**json.loads(sys.argv[1])), Path(sys.argv[2])
    record = Record(path, spec)
    record.save()
    try:
        with tempfile.TemporaryDirectory() as output_dir:
            RUNNERS[spec.kind](spec, record, output_dir)
        record.data["status"] = "ok"
    except torch.OutOfMemoryError as error:
        record.data["status"] = f"out of memory at step {len(record.data['steps']) + 1}: {str(error).splitlines()[0]}"
    except Exception as error:  # the part failed; its reason is the result
        first = str(error).splitlines()[0] if str(error) else ""
        record.data["status"] = f"failed: {type(error).__name__}: {first}"
        record.data["traceback"] = traceback.format_exc()[-4000:]
    record.save()


if __name__ == "__main__":
    main()

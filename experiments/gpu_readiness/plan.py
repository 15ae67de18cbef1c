"""The dry plan: each recipe's memory estimate (memory.py) for the 3B and the 7B, and whether it fits
an 80 GB and a 141 GB card, from exact parameter counts (meta device) and the configs' step shapes.

The recipes: SFT (paper stage 1) full or LoRA, under trainer=gpu (no activation checkpointing) or
trainer=fsdp on one GPU (per-layer checkpointing, nothing to shard across); GRPO (stage 2, Table
10's IDs column) full or LoRA under trainer=gpu with rollout=hf or rollout=vllm. Weights in bf16
as conf/backbone/qwen2_5_omni_*.yaml load them, and full SFT under FSDP also with fp32 master
weights (backbone.dtype=float32, what conf/trainer/fsdp.yaml recommends). LoRA adapters are fp32
(peft upcasts them), the frozen base bf16. SFT rows hold the camera encoder (trained in full, also
with LoRA); GRPO runs on text prompts (the thinker alone), as the measured parts do.
"""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import DictConfig, OmegaConf
from transformers import Qwen2_5OmniThinkerConfig

from experiments.gpu_readiness.memory import BF16, FP32, GIB, Decoder, Load, estimate, generation_bytes, \
    grpo_logits_bytes, sft_logits_bytes, verdict
from experiments.gpu_readiness.recipes import Lengths, compose_train, lengths, stage_overrides
from experiments.gpu_readiness.shapes import SIZES, parameter_counts, processor, thinker_config

MIB = 2**20
# Total memory as nvidia-smi reports it: H100 80GB HBM3 (also H100 PCIe / A100 80GB) and H200.
CARDS = {"80 GB": 81559 * MIB, "141 GB": 143771 * MIB}


@dataclass(frozen=True)
class Recipe:
    stage: str  # sft | grpo
    tuning: str  # full | lora
    precision: str  # bf16 | fp32 (master weights)
    setting: str  # trainer for SFT (gpu | fsdp), rollout engine for GRPO (hf | vllm)

    @property
    def name(self) -> str:
        knob = "trainer" if self.stage == "sft" else "rollout"
        return f"{self.stage} {self.tuning} {self.precision} {knob}={self.setting}"

    def overrides(self, size: str) -> list[str]:
        """The recipe's command line on backbone `size`."""
        lora, dtype = self.tuning == "lora", ["backbone.dtype=float32"] if self.precision == "fp32" else []
        if self.stage == "sft":
            return [*stage_overrides("sft", size, trainer=self.setting, lora=lora), *dtype]
        return [*stage_overrides("grpo", size, rollout=self.setting, lora=lora), *dtype]


RECIPES = (
    Recipe("sft", "full", "bf16", "gpu"),
    Recipe("sft", "full", "bf16", "fsdp"),
    Recipe("sft", "full", "fp32", "fsdp"),
    Recipe("sft", "lora", "bf16", "gpu"),
    Recipe("sft", "lora", "bf16", "fsdp"),
    Recipe("grpo", "full", "bf16", "hf"),
    Recipe("grpo", "full", "bf16", "vllm"),
    Recipe("grpo", "lora", "bf16", "hf"),
    Recipe("grpo", "lora", "bf16", "vllm"),
)


def decoder_of(config: Qwen2_5OmniThinkerConfig) -> Decoder:
    text = config.text_config
    head = text.hidden_size // text.num_attention_heads
    return Decoder(layers=text.num_hidden_layers, hidden=text.hidden_size, kv=text.num_key_value_heads * head,
                   intermediate=text.intermediate_size, vocab=text.vocab_size)


def camera_node(size: str) -> dict:
    """The camera encoder a stage=camera_pretrain run on this backbone would add (the paper's for 3B/7B)."""
    cfg = compose_train([*stage_overrides("camera_pretrain", size), "paths.output_dir=."])
    return OmegaConf.to_container(cfg.stage.camera_encoder, resolve=True)


def recipe_load(recipe: Recipe, cfg: DictConfig, shape: Lengths, counts: dict[str, int], d: Decoder,
                capacity: int) -> Load:
    """The memory terms' inputs for `recipe`, composed as `cfg`, with `shape` and the model's `counts`."""
    weight = FP32 if recipe.precision == "fp32" else BF16
    camera = ((counts["camera_encoder"], weight),) if recipe.stage == "sft" else ()
    if recipe.tuning == "lora":
        frozen, trained = ((counts["thinker"], weight),), ((counts["lora_adapters"], FP32), *camera)
    else:
        frozen, trained = (), ((counts["thinker"], weight), *camera)
    common = dict(frozen=frozen, trained=trained, rows=shape.rows, tokens=shape.tokens,
                  checkpointing=recipe.setting == "fsdp")
    if recipe.stage == "sft":
        return Load(**common, logits_per_row=sft_logits_bytes(shape.tokens, d.vocab))
    vllm = recipe.setting == "vllm"
    return Load(**common, logits_per_row=grpo_logits_bytes(shape.prompt, shape.completion, d.vocab),
                reference=recipe.tuning == "full" and cfg.stage.beta != 0.0,
                generation=0 if vllm else generation_bytes(d, shape.generated, shape.prompt, shape.completion),
                vllm=int(cfg.rollout.gpu_memory_utilization * capacity) if vllm else 0)


def recipe_terms(size: str, recipe: Recipe, config: Qwen2_5OmniThinkerConfig, counts: dict[str, int],
                 capacities: dict[str, int]) -> dict[str, dict[str, int]]:
    """Per card (name: bytes of memory), the bytes of each memory term of `recipe`."""
    cfg = compose_train([*recipe.overrides(size), "paths.output_dir=."])
    d = decoder_of(config)
    shape = lengths(cfg, tiny=size == "tiny")
    return {card: estimate(d, recipe_load(recipe, cfg, shape, counts, d, capacity)) for card, capacity in capacities.items()}


def dry_plan(sizes: tuple[str, ...] = SIZES) -> dict:
    """Per size: the exact parameter counts, and per recipe the terms (GiB) and a verdict per card."""
    plan = {}
    for size in sizes:
        camera = camera_node(size)
        lora = OmegaConf.to_container(compose_train([*stage_overrides("sft", size), "paths.output_dir=."]).backbone.lora)
        counts = parameter_counts(size, lora, camera)
        config = thinker_config(size, processor(size, None).tokenizer)
        recipes = {}
        for recipe in RECIPES:
            per_card = recipe_terms(size, recipe, config, counts, CARDS)
            first = next(iter(per_card.values()))
            recipes[recipe.name] = {
                "gib": {term: round(value / GIB, 2) for term, value in first.items() if term not in ("vllm", "total")},
                "vllm_gib": {card: round(terms["vllm"] / GIB, 2) for card, terms in per_card.items()},
                "total_gib": {card: round(terms["total"] / GIB, 2) for card, terms in per_card.items()},
                "verdict": {card: verdict(terms["total"], CARDS[card]) for card, terms in per_card.items()},
            }
        plan[size] = {"parameters": counts, "lora": lora, "recipes": recipes}
    return plan


def plan_lines(plan: dict) -> list[str]:
    """The dry plan as Markdown: parameter counts, then one table row per size and recipe (GiB)."""
    lines = []
    for size, entry in plan.items():
        p, lora = entry["parameters"], entry["lora"]
        lines.append(f"- {size}: thinker {p['thinker']:,} parameters, camera encoder {p['camera_encoder']:,}, "
                     f"LoRA adapters {p['lora_adapters']:,} (r={lora['r']} on {', '.join(lora['target_modules'])})")
    cards = list(CARDS)
    header = ["size", "recipe", "weights", "grads", "AdamW m+v", "reference", "activations", "generation",
              f"vLLM ({' / '.join(cards)})", *(f"{what} {c}" for c in cards for what in ("total", "fits"))]
    lines += ["", "| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for size, entry in plan.items():
        for name, r in entry["recipes"].items():
            g = r["gib"]
            cells = [size, name, *(f"{g[t]:.1f}" for t in ("weights", "gradients", "optimizer", "reference",
                                                         "activations", "generation")),
                     " / ".join(f"{r['vllm_gib'][c]:.1f}" for c in cards)]
            cells += [x for c in cards for x in (f"{r['total_gib'][c]:.1f}", r["verdict"][c])]
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return lines

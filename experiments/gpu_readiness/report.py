"""What run.py writes: each part's raw steps summarised (seconds per step, tokens/s, MFU, peak memory,
whether the recipe fitted), as JSON and as a Markdown table named by the card."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from experiments.gpu_readiness.plan import plan_lines
from experiments.gpu_readiness.throughput import mfu, peak_tflops
from experiments.gpu_readiness.workers import WARMUP_STEPS


def summarize(record: dict, card: str) -> dict:
    """Medians over the timed steps (the warm-up step alone when no other finished; `warmup_only` says so)."""
    setup, steps = record.get("setup", {}), record.get("steps", [])
    summary = {"status": record["status"], "steps": len(steps)}
    for key in ("trainable", "optimizer_states", "weights_gib", "capacity_gib", "shape", "summary"):
        if key in setup:
            summary[key] = setup[key]
    if "estimate_gib" in setup:
        summary["estimate_gib"] = round(setup["estimate_gib"]["total"], 2)
    if not steps:
        return summary
    timed = steps[WARMUP_STEPS:] or steps
    seconds = statistics.median(s["seconds"] for s in timed)
    flops = statistics.median(s["flops"] for s in timed)
    utilisation = mfu(flops, seconds, card)
    summary.update(
        warmup_only=len(steps) <= WARMUP_STEPS, seconds_per_step=round(seconds, 4),
        tokens_per_s=round(statistics.median(s["tokens"] for s in timed) / seconds, 1),
        peak_memory_gib=round(max(s["peak_gib"] for s in steps), 2), model_tflops_per_step=round(flops / 1e12, 3),
        mfu=None if utilisation is None else round(utilisation, 4),
    )
    generation = [s["generated_tokens"] / s["phases"]["generation"] for s in timed if s.get("phases", {}).get("generation")]
    if generation:
        summary["generated_tokens_per_s"] = round(statistics.median(generation), 1)
        summary["phases_s"] = {k: round(statistics.median(s["phases"][k] for s in timed), 3) for k in timed[0]["phases"]}
    return summary


def fitted(summary: dict) -> str:
    """Whether the recipe ran on this card: yes (some step finished), no (out of memory), or not known."""
    if summary["status"].startswith("out of memory"):
        return "no: out of memory"
    return "yes" if summary["steps"] else "-"


def table_lines(result: dict) -> list[str]:
    card = result["card"]
    peak = peak_tflops(card)
    lines = [
        f"# GPU readiness: {card}",
        "",
        f"Command: `{result['command']}`  ",
        f"Date: {result['date']}; commit {result['commit']}; {result['versions']}  ",
        f"Device: {card}, {result['memory_gib']:.1f} GiB; bf16 peak {f'{peak:g} TFLOP/s' if peak else 'unknown (no MFU)'}; "
        f"budget {result['budget_s']:g} s, each part at most {result['part_cap_s']:g} s, "
        f"{result['steps']} timed steps after {WARMUP_STEPS} warm-up.",
        "",
        "| part | status | s/step | tokens/s | generated tokens/s | peak GiB | estimate GiB | MFU | fitted "
        "| optimizer states | trainable |",
        "|---" * 11 + "|",
    ]
    for name, s in result["parts"].items():
        cells = [name, s["status"] + (" (warm-up step only)" if s.get("warmup_only") else ""),
                 s.get("seconds_per_step", "-"), s.get("tokens_per_s", "-"), s.get("generated_tokens_per_s", "-"),
                 s.get("peak_memory_gib", "-"), s.get("estimate_gib", "-"),
                 "-" if s.get("mfu") is None else f"{s['mfu']:.1%}", fitted(s),
                 ", ".join(f"{dtype} {n:,}" for dtype, n in s.get("optimizer_states", {}).items()) or "-",
                 f"{s['trainable']:,}" if "trainable" in s else "-"]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines += ["", "s/step: median over the timed steps; tokens/s: tokens through the model per second (GRPO: prompt + "
              "completion of every sampled row); generated tokens/s: GRPO's sampling alone; peak GiB: "
              "torch.cuda.max_memory_allocated on a GPU, the process's peak resident set on a CPU; estimate GiB: the dry "
              "plan's total for the part's recipe on this card; MFU: model FLOPs per second over the bf16 peak "
              "(README.md); optimizer states: parameters per dtype of AdamW's moments.",
              "", "## Dry plan (estimates, GiB)", "", *plan_lines(result["plan"])]
    return lines


def write(result: dict, out_dir: Path, slug: str) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / f"{slug}.json", out_dir / f"{slug}.md"
    json_path.write_text(json.dumps(result, indent=1) + "\n")
    md_path.write_text("\n".join(table_lines(result)) + "\n")
    return json_path, md_path

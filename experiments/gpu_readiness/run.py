"""GPU readiness: the paper's recipes measured at their real shapes in one short GPU window.

    python -m experiments.gpu_readiness.run                      # on a CUDA machine: every part, 540 s in all
    python -m experiments.gpu_readiness.run --dry-plan           # anywhere: the memory estimates only
    python -m experiments.gpu_readiness.run --tiny --device cpu  # the same parts at tiny shapes on a CPU (a test)

Prints the dry plan (plan.py), then runs each part (workers.py) in its own process under its own
time cap (`--part-cap`, and never past `--budget`), in order of importance: the 7B recipes, the
gpu-marked tests, then the 3B. A part that cannot run here is recorded with its reason, one the
budget no longer reaches as skipped, one stopped at its cap with the steps it finished. Results go
to `--out`/<card>.json and <card>.md (report.py). Without CUDA it prints the dry plan and stops,
unless `--device cpu --tiny` asks for the CPU run.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, replace
from datetime import date
from pathlib import Path

import torch

from experiments.gpu_readiness.plan import dry_plan, plan_lines
from experiments.gpu_readiness.report import summarize, write
from experiments.gpu_readiness.shapes import SIZES
from experiments.gpu_readiness.workers import ROOT, Spec

HERE = Path(__file__).resolve().parent
# (stage, tuning, trainer or rollout) of each measured part, most telling first.
TEMPLATES = (
    ("sft", "lora", "gpu"),
    ("sft", "full", "fsdp"),
    ("sft", "full", "gpu"),
    ("grpo", "lora", "hf"),
    ("grpo", "full", "hf"),
    ("grpo", "lora", "vllm"),
    ("grpo", "full", "vllm"),
)
PYTEST = "pytest-gpu"
MIN_PART_S = 30.0  # a part with less time left than this is skipped: it could not build its model
VERSIONED = ("torch", "transformers", "lightning", "peft", "vllm")


class Parser(argparse.ArgumentParser):
    """A bad option is one line and exit 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def part_specs(sizes: list[str], device: str, steps: int) -> list[Spec]:
    """The parts in the order they run: all of the first size, the gpu-marked tests, the other sizes."""
    specs = []
    for index, size in enumerate(sizes):
        specs += [Spec(name=f"{stage}-{size}-{tuning}-{setting}", kind=stage, size=size, tuning=tuning, setting=setting,
                       device=device, steps=steps) for stage, tuning, setting in TEMPLATES]
        if index == 0:
            specs.append(Spec(name=PYTEST, kind="pytest", device=device))
    return specs


def cannot_run(spec: Spec) -> str | None:
    """Why this part cannot run on this machine, before it starts."""
    if spec.device != "cuda" and (spec.kind == "pytest" or spec.setting == "fsdp"):
        what = "the gpu-marked tests need" if spec.kind == "pytest" else "trainer=fsdp needs"
        return f"skipped: no CUDA device ({what} one; tests/e2e/test_fsdp.py runs the FSDP strategy on CPU ranks)"
    if spec.setting == "vllm" and importlib.util.find_spec("vllm") is None:
        return "skipped: vllm is not installed (pip install -e '.[vllm]')"
    return None


def run_part(spec: Spec, cap: float, logs: Path) -> dict:
    """The worker's record: as it wrote it, or as far as it got when its cap stopped it."""
    result, log = logs / f"{spec.name}.json", logs / f"{spec.name}.log"
    spec = replace(spec, deadline=time.time() + cap - 5.0)
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "experiments.gpu_readiness.workers", json.dumps(asdict(spec)),
                                    str(result)], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            process.wait(timeout=cap)
            stopped = False
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the worker and the processes it started
            process.wait()
            stopped = True
    record = json.loads(result.read_text()) if result.exists() else {"status": "running"}
    if record["status"] == "running":  # the worker never finished its record
        steps = len(record.get("steps", []))
        record["status"] = f"timed out at its {cap:.0f} s cap after {steps} step(s)" if stopped else \
            f"failed: the worker ended (exit {process.returncode}) without a result"
    if record["status"] != "ok":
        record["log_tail"] = log.read_text()[-3000:]
    return record


def card_name(device: str) -> str:
    return torch.cuda.get_device_name(0) if device == "cuda" else "cpu"


def slug(card: str, tiny: bool) -> str:
    return re.sub(r"[^a-z0-9]+", "-", card.lower()).strip("-") + ("-tiny" if tiny else "")


def versions() -> str:
    found = []
    for name in VERSIONED:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} absent")
    return ", ".join(found)


def commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = Parser(prog="experiments.gpu_readiness.run", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=540.0, help="seconds for all parts together")
    parser.add_argument("--part-cap", type=float, default=150.0, help="seconds for one part at most")
    parser.add_argument("--steps", type=int, default=3, help="timed optimizer steps per part, after one warm-up step")
    parser.add_argument("--sizes", nargs="+", choices=SIZES, default=["7b", "3b"], help="backbone sizes, in order")
    parser.add_argument("--parts", nargs="+", default=None, help="run only these parts (names as in the table)")
    parser.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto")
    parser.add_argument("--tiny", action="store_true", help="the tiny backbone at short lengths instead of --sizes")
    parser.add_argument("--dry-plan", action="store_true", help="print the memory estimates of --sizes and stop")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="folder for <card>.json and <card>.md")
    args = parser.parse_args(argv)
    if args.budget <= 0 or args.part_cap <= 0 or args.steps < 1:
        parser.error("--budget and --part-cap must be positive and --steps at least 1")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device")
    if args.device == "cpu" and not args.tiny and not args.dry_plan:
        parser.error("--device cpu runs the tiny backbone only: add --tiny (3B/7B steps need a GPU)")
    if args.tiny:
        args.sizes = ["tiny"]
    known = [spec.name for spec in part_specs(args.sizes, "cpu", 1)]
    unknown = sorted(set(args.parts or ()) - set(known))
    if unknown:
        parser.error(f"--parts: unknown {', '.join(unknown)}; known: {', '.join(known)}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    command = "python -m experiments.gpu_readiness.run " + " ".join(sys.argv[1:] if argv is None else argv)
    device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "none")
    plan = dry_plan(tuple(args.sizes))
    print("Dry plan: memory estimates in GiB (experiments/gpu_readiness/README.md gives the method)\n", flush=True)
    print("\n".join(plan_lines(plan)) + "\n", flush=True)
    if args.dry_plan or device == "none":
        if not args.dry_plan:
            print("no CUDA device: the dry plan only (--device cpu --tiny runs the parts at tiny shapes on this CPU)")
        return
    started = time.time()
    records = {}
    with tempfile.TemporaryDirectory(prefix="gpu-readiness-") as logs:
        for spec in part_specs(args.sizes, device, args.steps):
            if args.parts is not None and spec.name not in args.parts:
                continue
            left = args.budget - (time.time() - started)
            reason = cannot_run(spec) or (None if left >= MIN_PART_S else f"skipped: the {args.budget:g} s budget was spent")
            records[spec.name] = {"status": reason} if reason else run_part(spec, min(args.part_cap, left), Path(logs))
            print(f"{spec.name}: {records[spec.name]['status']}", flush=True)
    # The card is asked for only now: the parts ran without a CUDA context held in this process.
    card = card_name(device)
    memory = torch.cuda.get_device_properties(0).total_memory if device == "cuda" else \
        os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    parts = {name: {**summarize(record, card), **({"log_tail": record["log_tail"]} if "log_tail" in record else {})}
             for name, record in records.items()}
    result = {"card": card, "memory_gib": memory / 2**30, "command": command, "date": date.today().isoformat(),
              "commit": commit(), "versions": versions(), "budget_s": args.budget, "part_cap_s": args.part_cap,
              "steps": args.steps, "parts": parts, "plan": plan}
    json_path, md_path = write(result, args.out, slug(card, args.tiny))
    print(md_path.read_text(), flush=True)
    print(f"written: {json_path} and {md_path}")


if __name__ == "__main__":
    main()

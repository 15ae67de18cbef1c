"""experiments/gpu_readiness: the dry plan's arithmetic checked by hand, its 7B verdicts, the FLOPs
and MFU accounting, and the whole script run at tiny shapes on the CPU, so that the GPU window's
one prepared command cannot rot while no GPU is at hand."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from experiments.gpu_readiness.memory import Decoder, Load, estimate, generation_bytes, grpo_logits_bytes, \
    layer_bytes, sft_logits_bytes, token_bytes, verdict
from experiments.gpu_readiness.plan import dry_plan
from experiments.gpu_readiness.run import part_specs, parse
from experiments.gpu_readiness.throughput import forward_flops, mfu, peak_tflops, train_flops
from tests.conftest import ROOT

SMALL = Decoder(layers=2, hidden=8, kv=4, intermediate=16, vocab=10)


def test_the_memory_terms_of_a_small_case_computed_by_hand():
    assert layer_bytes(SMALL) == 22 * 8 + 6 * 4 + 8 * 16 == 328
    assert token_bytes(SMALL, checkpointing=False) == 2 * 328
    assert token_bytes(SMALL, checkpointing=True) == 2 * 2 * 8 + 328  # each layer's bf16 input, one layer recomputed
    assert sft_logits_bytes(tokens=3, vocab=10) == 3 * 10 * (2 + 4 + 4)
    assert grpo_logits_bytes(prompt=2, completion=1, vocab=10) == 3 * 10 * 2 + 1 * 10 * (2 + 4)
    assert generation_bytes(SMALL, completions=4, prompt=2, completion=1) == 4 * 3 * 2 * 2 * 4 * 2 + 4 * 2 * 10 * 2
    load = Load(frozen=((100, 2),), trained=((50, 4),), rows=2, tokens=3, checkpointing=False,
                logits_per_row=300, reference=True, generation=544, vllm=7)
    terms = estimate(SMALL, load)
    assert terms == {"weights": 400, "gradients": 200, "optimizer": 400, "reference": 400,
                     "activations": 2 * (3 * 656 + 300), "generation": 544, "vllm": 7,
                     "total": 400 + 200 + 400 + 400 + 4536 + 7}
    checkpointed = estimate(SMALL, Load(**{**load.__dict__, "checkpointing": True, "generation": 9999}))
    assert checkpointed["activations"] == 2 * (3 * 360 + 300)
    assert checkpointed["total"] == 1400 + 9999 + 7  # generation and activations never coexist: the larger counts


def test_verdicts_leave_a_tenth_of_the_card():
    assert [verdict(total, 100) for total in (90, 95, 101)] == ["fits", "tight", "no"]


def test_flops_follow_palm_and_mfu_uses_the_cards_dense_bf16_peak():
    assert forward_flops(tokens=4, matmul_params=10, layers=2, hidden=3) == 4 * (2 * 10 + 4 * 2 * 3 * 4)
    assert train_flops(4, 10, 2, 3, lora=False) == 3 * 464 and train_flops(4, 10, 2, 3, lora=True) == 2 * 464
    assert peak_tflops("NVIDIA H100 80GB HBM3") == peak_tflops("NVIDIA H200") == 989.0
    assert peak_tflops("NVIDIA H100 PCIe") == 756.0 and peak_tflops("NVIDIA A100-SXM4-80GB") == 312.0
    assert mfu(494.5e12, 1.0, "NVIDIA H100 80GB HBM3") == pytest.approx(0.5)
    assert peak_tflops("cpu") is None and mfu(1e12, 1.0, "cpu") is None


def test_the_7b_plan_counts_the_real_model_and_says_what_fits():
    """Parameters counted on the meta device from the real config; the README quotes these verdicts."""
    plan = dry_plan(("7b",))["7b"]
    assert plan["parameters"] == {"thinker": 8_931_813_888, "camera_encoder": 264_909_824, "lora_adapters": 10_092_544}
    verdicts = {name: recipe["verdict"] for name, recipe in plan["recipes"].items()}
    assert verdicts["sft full bf16 trainer=gpu"] == {"80 GB": "no", "141 GB": "no"}
    assert verdicts["sft full bf16 trainer=fsdp"] == {"80 GB": "no", "141 GB": "fits"}
    assert verdicts["sft lora bf16 trainer=fsdp"] == {"80 GB": "fits", "141 GB": "fits"}
    assert verdicts["grpo full bf16 rollout=hf"] == {"80 GB": "no", "141 GB": "fits"}


def test_a_bad_option_is_one_line_and_exit_2(capsys):
    for argv in (["--budget", "-1"], ["--parts", "sft-9b-full-gpu"], ["--device", "cpu"]):
        with pytest.raises(SystemExit) as stopped:
            parse(argv)
        assert stopped.value.code == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1, argv


@pytest.mark.slow
def test_the_tiny_cpu_run_reports_every_part_with_numbers_or_a_reason(tmp_path):
    done = subprocess.run([sys.executable, "-m", "experiments.gpu_readiness.run", "--tiny", "--device", "cpu",
                           "--budget", "200", "--steps", "1", "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    result = json.loads((tmp_path / "cpu-tiny.json").read_text())
    assert list(result["parts"]) == [spec.name for spec in part_specs(["tiny"], "cpu", 1)]
    for name, part in result["parts"].items():
        if part["status"].startswith("skipped: "):
            continue
        assert part["status"] == "ok", (name, part.get("log_tail"))
        assert part["steps"] == 2 and part["seconds_per_step"] > 0 and part["tokens_per_s"] > 0, name
        assert part["peak_memory_gib"] > 0 and part["estimate_gib"] > 0 and part["optimizer_states"], name
    ran = {name for name, part in result["parts"].items() if part["status"] == "ok"}
    assert {"sft-tiny-full-gpu", "sft-tiny-lora-gpu", "grpo-tiny-full-hf", "grpo-tiny-lora-hf"} <= ran
    assert result["parts"]["grpo-tiny-full-hf"]["generated_tokens_per_s"] > 0
    assert "| sft-tiny-full-gpu | ok |" in (tmp_path / "cpu-tiny.md").read_text()

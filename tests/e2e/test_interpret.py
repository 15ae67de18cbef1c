"""python -m reade.interpret in a subprocess: one JSON object on stdout in single mode, one line per
row in batch mode, a killed batch resumed without losing or repeating a row, and bad input refused
with exit 2 and file:line: field for every problem."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.unit.data.test_jsonl import broken_copy

pytestmark = pytest.mark.slow


def cli_env(root: Path) -> dict[str, str]:
    return {**os.environ, "READE_ROOT": str(root), "WANDB_SILENT": "true"}


def run_cli(args: list[str], root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reade.interpret", *args], cwd=ROOT, env=cli_env(root),
                          capture_output=True, text=True, timeout=600)


def rows_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_single_mode_with_the_tiny_default_prints_one_json_object(tmp_path):
    result = run_cli(['instruction="Garden, zoom in"', "max_new_tokens=32"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads(result.stdout)  # stdout holds the JSON alone; the logs went to stderr
    assert record["checkpoint"].startswith("tiny:") and (tmp_path / ".cache" / record["checkpoint"][5:]).is_dir()
    assert (record["prompt"], record["prompt_source"], record["answer_ok"]) == ("Garden, zoom in.", "instruction", False)
    assert record["generator"]["name"] == "cogvideox" and record["prompt_tokens"] <= record["generator"]["budget"]
    assert "INFO" in result.stderr


def test_single_mode_with_a_camera_condition(camera_backbone, synthetic_dir, tmp_path):
    row = next(r for r in rows_of(synthetic_dir / "train.jsonl") if any(c["kind"] == "camera" for c in r["conditions"]))
    camera = synthetic_dir / next(c["path"] for c in row["conditions"] if c["kind"] == "camera")
    result = run_cli([f"checkpoint={camera_backbone}", 'instruction="Garden, zoom in"',
                      f"conditions=[{{kind: camera, path: '{camera}'}}]", "generator=hunyuanvideo",
                      "max_new_tokens=32"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads(result.stdout)
    assert record["checkpoint"] == str(Path(camera_backbone).resolve())
    assert record["generator"]["name"] == "hunyuanvideo" and record["prompt_tokens"] <= record["generator"]["budget"]


def test_batch_mode_killed_and_resumed_loses_and_repeats_nothing(camera_backbone, synthetic_dir, tmp_path):
    rows = synthetic_dir / "train.jsonl"
    args = [f"checkpoint={camera_backbone}", f"input={rows}", "batch_size=1", "max_new_tokens=256"]
    reference = tmp_path / "reference.jsonl"
    result = run_cli([*args, f"output={reference}"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    ids = [r["id"] for r in rows_of(rows)]
    assert [r["id"] for r in rows_of(reference)] == ids
    assert "interpreting" in result.stderr  # the progress bar

    out = tmp_path / "out.jsonl"
    process = subprocess.Popen([sys.executable, "-m", "reade.interpret", *args, f"output={out}"], cwd=ROOT,
                               env=cli_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline:
        if out.exists() and out.read_text().count("\n") >= 3:
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    process.wait(timeout=60)
    before = out.read_text().splitlines()
    assert 3 <= len(before) < len(ids), "the kill should land mid-run"
    with out.open("a") as handle:
        handle.write('{"id": "train-0000')  # and a line the kill cut short
    result = run_cli([*args, f"output={out}"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "cut short" in result.stderr
    after = out.read_text().splitlines()
    assert after[: len(before)] == before
    assert rows_of(out) == rows_of(reference)  # every row once, as the uninterrupted run wrote it


def test_bad_input_exits_2_naming_file_line_and_field(camera_backbone, synthetic_dir, tmp_path):
    path, where = broken_copy(synthetic_dir, tmp_path)
    out = tmp_path / "out.jsonl"
    result = run_cli([f"checkpoint={camera_backbone}", f"input={path}", f"output={out}", "max_new_tokens=16"], tmp_path)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and not out.exists()
    for line, field in [(where["json"], "json"), (where["missing"], "conditions["), (where["camera"], "conditions["),
                        (where["empty"], "instruction")]:
        assert f"{path}:{line}: {field}" in result.stderr, (line, field)
    result = run_cli([f"checkpoint={camera_backbone}", f"input={path}", f"output={out}", "max_new_tokens=16",
                      "on_error=skip"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(rows_of(out)) == 24 - 4 and "skipped" in result.stderr
    result = run_cli([f"input={path}"], tmp_path)
    assert result.returncode == 2 and "needs output=FILE.jsonl" in result.stderr

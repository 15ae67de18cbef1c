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
# # 01 — The data contract and the reason-then-describe format
#
# What one training sample looks like, what the interpreter is asked to produce, and how the
# strict parser (the basis of the format reward, paper eq. 2) judges an output. This notebook
# reads the synthetic data that `make train` writes; it never trains.

# %%
import json
import tempfile
from pathlib import Path

from reade.data.synthesize import synthesize
from reade.schema import Sample, parse_output

root = Path(tempfile.mkdtemp())
splits = synthesize(root, n_train=8, n_val=2, n_test=2, seed=0)
rows = [json.loads(line) for line in splits["train"].read_text().splitlines()]
sample = Sample.from_dict(rows[0])
print("instruction:", sample.instruction)
print("kind:", sample.meta.get("instruction_kind"))
print("conditions:", [(c.kind, c.path) for c in sample.conditions])

# %% [markdown]
# The assistant target: a 4-step `<think>` trace (paper section 3.1), then the six-part caption
# (paper Table 8) inside `<answer>`.

# %%
target = sample.target()
print(target)

# %% [markdown]
# The U/S/Z key elements (paper Table 9) that the content reward checks one by one.

# %%
for name in ("user", "supplementary", "imaginative"):
    print(name, getattr(sample.key_elements, name).elements())

# %% [markdown]
# The parser is strict: a missing part, a part out of order, or text after `</answer>` fails it.

# %%
for label, text in [
    ("gold", target),
    ("no camera part", target.replace(target[target.index("6. Camera caption"):target.index("</answer>")], "")),
    ("chatter after the answer", target + " Hope this helps!"),
]:
    parsed = parse_output(text)
    print(f"{label:28s} think_ok={parsed.think_ok} answer_ok={parsed.answer_ok} {list(parsed.errors)}")

# %% [markdown]
# The kinds of instruction the synthetic generator writes (paper Fig. 1 and 5: plain, short and
# ambiguous, edit-style, reasoning-style):

# %%
for row in rows:
    print(f"{row['meta']['instruction_kind']:10s} {row['instruction']}")

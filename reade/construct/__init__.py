"""Data construction (paper 3.2.2, D.1, D.2): `python -m reade.construct stage=cot|key_elements|select`.

`cot` turns rows with a gold caption into SFT rows (a four-step `think` trace and a six-part caption)
with a teacher LLM; `key_elements` turns SFT rows into RL rows (U/S/Z key elements); `run` drives
either resumably. `select` (no teacher) dedups RL rows, removes overlaps with evaluation splits,
balances instruction types and condition counts, and writes the statistics tables.
"""

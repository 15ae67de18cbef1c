"""Data construction with a teacher LLM (paper D.1, D.2): `python -m reade.construct stage=cot|key_elements`.

`cot` turns rows with a gold caption into SFT rows (a four-step `think` trace and a six-part caption);
`key_elements` turns SFT rows into RL rows (U/S/Z key elements). `run` drives either stage resumably.
"""

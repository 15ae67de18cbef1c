"""Finished runs read from their folders (no wandb needed), turned into the paper's tables and figures."""

"""Judge backends behind one batched async interface (`reade.rewards.judges.base.Judge`)."""

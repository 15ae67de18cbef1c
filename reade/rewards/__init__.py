"""The reward assigner (paper section 3.2.1): format reward, content reward and the judges behind it."""

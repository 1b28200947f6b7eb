"""Training: the reference loop, one recipe, and the engines behind it (fast, stacked, sweeps)."""

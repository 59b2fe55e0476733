"""Training: batch layouts, the LR schedule, the one loop for every model, resume checkpoints."""

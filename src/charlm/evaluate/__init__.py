"""Held-out evaluation: stream a split through a LanguageModel, turn nats into bpc, CIs, per-book scores and samples."""

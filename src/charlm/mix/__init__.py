"""Mixtures: a linear interpolation of several models' per-token probabilities, weights fitted by EM on val."""

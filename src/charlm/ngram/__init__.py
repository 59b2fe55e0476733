"""N-gram baselines: the notebook's add-ε smoothing, Laplace and interpolated modified Kneser-Ney.

counts.py (n-gram windows as int64 keys) -> smoothing.py (interpolation weights -> back-off form)
-> model.py (NgramModel: fit, vectorised scoring) -> store.py (.npz), arpa.py (ARPA), lm.py (the
LanguageModel protocol), run.py (what the ngram stage does).
"""

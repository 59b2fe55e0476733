"""charlm: character-level language models on classic novels, as a DVC pipeline.

The Python API (docs/api.md): `charlm.load(model_path, vocab_path=None)` and `charlm.read_metrics(rev=None)`.
Both are imported on first use, so `import charlm` (every stage does) loads neither torch nor pandas.
"""

_API = ("load", "read_metrics")


def __getattr__(name: str):
    if name in _API:
        from charlm import api
        return getattr(api, name)
    raise AttributeError(f"module 'charlm' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_API])

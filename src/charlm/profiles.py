"""Params profiles: named sets of overrides (`profiles/<name>.yaml`) to hand to `dvc exp run -S`.

    charlm profile gpu | xargs -r dvc exp run -n gpu      # one experiment with every override applied

A profile is a flat mapping of dotted params keys to values; a key written `~ngram.kn4` (any value)
deletes that entry, as Hydra's `-S '~ngram.kn4'` does. It is checked against params.yaml by the one
loader before anything runs, so a renamed key or a bad value fails here, not halfway into a run.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Mapping

from charlm.params import ParamsError, load_params, read_yaml

PROFILES_DIR = Path("profiles")


def load_overrides(path: str | Path) -> dict[str, object]:
    """The profile's {dotted key: value} mapping; a missing or malformed file is a ParamsError naming it."""
    path = Path(path)
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in path.parent.glob("*.yaml"))) or "none"
        raise ParamsError(f"{path}: no such profile (profiles: {known})")
    raw = read_yaml(path)
    if not isinstance(raw, dict) or not all(isinstance(k, str) for k in raw):
        raise ParamsError(f"{path}: must be a mapping of dotted params keys to values")
    return raw


def profile_args(name: str, params_path: str | Path = "params.yaml") -> list[str]:
    """`-S key=value` arguments for `dvc exp run`, after validating params.yaml with the profile applied."""
    path = PROFILES_DIR / f"{name}.yaml"
    overrides = load_overrides(path)
    load_params(params_path, overrides, source=path)
    return override_args(overrides)


def override_args(overrides: Mapping[str, object]) -> list[str]:
    """`-S ++key=value` for each {dotted key: value}, `-S ~key` for a key written `~key` (delete the entry):
    what `dvc exp run` then applies exactly as given."""
    # `++` is Hydra's "set, adding the key if missing": a model's `train:` overrides may be new keys.
    return [arg for key, value in overrides.items()
            for arg in ("-S", key if key.startswith("~") else f"++{key}={_hydra_value(value)}")]


def _hydra_value(value: object) -> str:
    # DVC parses -S values with Hydra's override grammar: [a,b], {k:v}, lowercase booleans, null, quoted strings.
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[" + ",".join(_hydra_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_hydra_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str) and not _plain_word(value):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return str(value)


def _plain_word(text: str) -> bool:
    # Unquoted, Hydra reads 11, 1e5, 1_000 and nan as numbers and true/null as bool/None.
    return re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", text) is not None and text.lower() not in (
        "true", "false", "null", "nan", "inf")


def shell_words(args: list[str]) -> str:
    """One shell-quoted argument per line, the form `xargs` reads back."""
    return "\n".join(shlex.quote(a) for a in args)

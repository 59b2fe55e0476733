"""Params profiles: named sets of overrides (`profiles/<name>.yaml`) to hand to `dvc exp run -S`.

    charlm profile gpu | xargs dvc exp run -n gpu      # one experiment with every override applied

A profile is a flat mapping of dotted params keys to values. It is checked against params.yaml with the
one schema before anything runs, so a renamed key or a bad value fails here, not halfway into a run.
"""
from __future__ import annotations

import copy
import shlex
from pathlib import Path

import yaml

from charlm.params import ParamsError, parse_params

PROFILES_DIR = Path("profiles")


def load_overrides(path: str | Path) -> dict[str, object]:
    """The profile's {dotted key: value} mapping; a missing or malformed file is a ParamsError naming it."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        known = ", ".join(sorted(p.stem for p in path.parent.glob("*.yaml"))) or "none"
        raise ParamsError(f"{path}: no such profile (profiles: {known})") from None
    except yaml.YAMLError as e:
        raise ParamsError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(raw, dict) or not all(isinstance(k, str) for k in raw):
        raise ParamsError(f"{path}: must be a mapping of dotted params keys to values")
    return raw


def apply_overrides(params: dict, overrides: dict[str, object], source: str) -> dict:
    """A copy of raw `params` with every dotted key set (the schema then rejects keys it does not know)."""
    merged = copy.deepcopy(params)
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split(".")
        node = merged
        for i, part in enumerate(parents):
            if not isinstance(node.get(part), dict):
                raise ParamsError(f"{source}: {dotted}: no section {'.'.join(parents[:i + 1])} in params.yaml")
            node = node[part]
        node[leaf] = value
    return merged


def profile_args(name: str, params_path: str | Path = "params.yaml") -> list[str]:
    """`-S key=value` arguments for `dvc exp run`, after validating params.yaml with the profile applied."""
    path = PROFILES_DIR / f"{name}.yaml"
    overrides = load_overrides(path)
    raw = yaml.safe_load(Path(params_path).read_text(encoding="utf-8"))
    try:
        parse_params(apply_overrides(raw, overrides, str(path)))
    except ParamsError as e:
        raise ParamsError(f"{path}: {e}") from None
    # `++` is Hydra's "set, adding the key if missing": a model's `train:` overrides may be new keys.
    return [arg for key, value in overrides.items() for arg in ("-S", f"++{key}={_hydra_value(value)}")]


def _hydra_value(value: object) -> str:
    # DVC parses -S values with Hydra's override grammar: [a,b], lowercase booleans, null, quoted strings.
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[" + ",".join(_hydra_value(v) for v in value) + "]"
    if isinstance(value, str) and not value.replace("_", "").replace("-", "").replace(".", "").isalnum():
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return str(value)


def shell_words(args: list[str]) -> str:
    """One shell-quoted argument per line, the form `xargs` reads back."""
    return "\n".join(shlex.quote(a) for a in args)

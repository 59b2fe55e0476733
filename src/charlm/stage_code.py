"""The code a stage runs: its script and every project file the script reaches through imports, with md5s.

dvc.yaml gives each stage one code dependency, `data/code/<script>.json`, instead of listing its ~25 source
files: the `code` stage writes those manifests from `src/charlm` and `stages`. An edit reruns `code`, which
rewrites only the manifests whose files changed, and DVC then reruns only the stages whose manifest did. Why:
a no-op `dvc repro` pays per dependency entry and per dvc.lock line (issue 19: 1,487 file entries were ~5,900
of dvc.lock's 10,484 lines), and a list derived from the imports cannot drift from them the way a hand-kept
one can.

The closure is read from the code (`ast`, every import statement, including those inside functions), so it is
a superset of what one run imports: a stage that imports a module only on some path still reruns when it
changes. A module's own `__getattr__` (PEP 562: charlm.load) is left out: it imports only when that attribute is
read, and no stage reads it (tests/sharing/test_stage_deps.py checks that).
"""
from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

from charlm.io import atomic_write, dumps_json

PACKAGE = "charlm"


def _module_file(src: Path, module: str) -> Path | None:
    """The file of a `charlm...` module or package under `src`, or None for anything outside the project."""
    if module != PACKAGE and not module.startswith(f"{PACKAGE}."):
        return None
    base = src.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(src: Path, path: Path) -> set[str]:
    """Absolute names of every module `path` imports (relative imports resolved), `from m import x` as m and m.x."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    # The package a relative import starts from: a module's parent, or an __init__.py's own package.
    package = ".".join(path.relative_to(src).parts[:-1]) if path.is_relative_to(src) else ""
    lazy = {id(n) for f in tree.body if isinstance(f, ast.FunctionDef) and f.name == "__getattr__" for n in ast.walk(f)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in lazy:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                module = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)  # submodules; non-modules drop out below
    return found


def import_closure(script: Path, root: Path) -> set[str]:
    """`root`-relative paths of `script` and every file under root/src it reaches through imports (importing
    a.b.c runs a/__init__.py and a/b/__init__.py first)."""
    src = root / "src"
    seen, todo = set(), [script]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in _imported_modules(src, path):
            parts = module.split(".")
            for i in range(1, len(parts) + 1):
                target = _module_file(src, ".".join(parts[:i]))
                if target is not None:
                    todo.append(target)
    return {p.relative_to(root).as_posix() for p in seen}


def manifest(script: Path, root: Path) -> dict[str, str]:
    """{path: md5 of its bytes} over the import closure of `script`."""
    return {path: hashlib.md5((root / path).read_bytes()).hexdigest() for path in import_closure(script, root)}


def write_manifests(root: Path, out: Path, skip: tuple[str, ...] = ()) -> list[Path]:
    """out/<script>.json for every root/stages/<script>.py not in `skip`, each written only when its content
    changed (so its mtime, too, says what changed); a manifest whose script is gone is removed."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for script in sorted((root / "stages").glob("*.py")):
        if script.stem in skip:
            continue
        path = out / f"{script.stem}.json"
        text = dumps_json(manifest(script, root))
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            atomic_write(path, text)
        written.append(path)
    for stale in set(out.glob("*.json")) - set(written):
        stale.unlink()
    return written


def manifest_changes(root: Path, out: Path, skip: tuple[str, ...] = ()) -> dict[str, dict[str, str]]:
    """{script: {path: "modified" | "new" | "deleted"}} between the manifests in `out` and the code now, without
    writing anything: what `dvc status` cannot say until the code stage runs (it sees only `code` changed)."""
    changes = {}
    for script in sorted((root / "stages").glob("*.py")):
        if script.stem in skip:
            continue
        path = out / f"{script.stem}.json"
        old = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        new = manifest(script, root)
        diff = {p: "modified" for p in old.keys() & new.keys() if old[p] != new[p]}
        diff |= {p: "new" for p in new.keys() - old.keys()} | {p: "deleted" for p in old.keys() - new.keys()}
        if diff:
            changes[script.stem] = dict(sorted(diff.items()))
    return changes

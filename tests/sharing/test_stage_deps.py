"""Every stage in dvc.yaml depends on exactly the project files it imports: no more, no less.

The import closure is derived from the code (`ast`, every import statement, including the ones inside
functions), starting at the stage script named in the stage's `cmd`. A missing dependency lets dvc.lock
claim results for code that did not produce them; an extra one reruns a stage for an edit it cannot see
(a preprocess edit retraining every model).
"""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

SRC = REPO / "src"
CODE_ROOTS = ("stages/", "src/")


def _module_file(module: str) -> Path | None:
    """The file of a `charlm...` module or package, or None for anything outside the project."""
    if module != "charlm" and not module.startswith("charlm."):
        return None
    base = SRC.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _package_inits(module: str) -> list[Path]:
    """Importing a.b.c runs a/__init__.py and a/b/__init__.py first."""
    parts = module.split(".")
    return [f for i in range(1, len(parts)) if (f := _module_file(".".join(parts[:i]))) is not None]


def _imported_modules(path: Path) -> set[str]:
    """Absolute names of every module `path` imports (relative imports resolved), `from m import x` as m and m.x."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    # The package a relative import starts from: a module's parent, or an __init__.py's own package.
    package = ".".join(path.relative_to(SRC).parts[:-1]) if path.is_relative_to(SRC) else ""
    found = set()
    # A module's own __getattr__ (PEP 562: charlm.load, charlm.read_metrics) imports only when that attribute
    # is read; stages import the modules they use by name, so what it imports is not theirs.
    lazy = {id(n) for f in tree.body if isinstance(f, ast.FunctionDef) and f.name == "__getattr__" for n in ast.walk(f)}
    for node in ast.walk(tree):
        if id(node) in lazy:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)  # submodules; non-modules drop out below
    return found


def import_closure(script: Path) -> set[str]:
    """Repo-relative paths of the script and every project file it reaches through imports."""
    seen, todo = set(), [script]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in _imported_modules(path):
            target = _module_file(module)
            if target is not None:
                todo += [target, *_package_inits(module)]
    return {p.relative_to(REPO).as_posix() for p in seen}


def _declared_files(deps: list[str]) -> tuple[set[str], dict[str, set[str]]]:
    """The declared code files, and for each declared code folder the .py files in it."""
    files, folders = set(), {}
    for dep in deps:
        if not dep.startswith(CODE_ROOTS):
            continue
        path = REPO / dep
        if path.is_dir():
            folders[dep] = {p.relative_to(REPO).as_posix() for p in path.rglob("*.py") if "__pycache__" not in p.parts}
        else:
            files.add(dep)
    return files, folders


def _stages() -> list[tuple[str, str, list[str]]]:
    """(stage name, cmd, deps) for every stage; a foreach stage is checked once, through its `do` template."""
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    return [(name, (s.get("do") or s)["cmd"], (s.get("do") or s).get("deps", [])) for name, s in stages.items()]


def dependency_problems(name: str, cmd: str, deps: list[str]) -> list[str]:
    """One line per file that `deps` misses or lists without the stage importing it."""
    scripts = re.findall(r"stages/\w+\.py", cmd)
    assert len(scripts) == 1, f"{name}: expected one stages/<name>.py in cmd {cmd!r}"
    needed = import_closure(REPO / scripts[0])
    files, folders = _declared_files(deps)
    covered = files | set().union(*folders.values())
    problems = [f"{name}: imports {f} but dvc.yaml does not list it" for f in sorted(needed - covered)]
    problems += [f"{name}: lists {f} but does not import it" for f in sorted(files - needed)]
    for folder, inside in sorted(folders.items()):
        problems += [f"{name}: lists folder {folder}, but does not import {f} in it (list files instead)"
                     for f in sorted(inside - needed)]
    return problems


@pytest.mark.parametrize("name, cmd, deps", _stages(), ids=[s[0] for s in _stages()])
def test_stage_lists_exactly_the_files_it_imports(name, cmd, deps):
    assert dependency_problems(name, cmd, deps) == []


def test_the_check_names_a_missing_and_an_extra_file():
    # The check itself must be able to fail: drop a file the train stage imports, add one it does not.
    name, cmd, deps = next(s for s in _stages() if s[0] == "train")
    needed = import_closure(REPO / "stages" / "train.py")
    assert "src/charlm/io.py" in needed and "src/charlm/data/corpus.py" not in needed
    expanded = sorted(needed) + [d for d in deps if not d.startswith(CODE_ROOTS)]
    assert dependency_problems(name, cmd, [d for d in expanded if d != "src/charlm/io.py"]) == [
        "train: imports src/charlm/io.py but dvc.yaml does not list it"]
    assert dependency_problems(name, cmd, expanded + ["src/charlm/data/corpus.py"]) == [
        "train: lists src/charlm/data/corpus.py but does not import it"]


def test_closure_follows_relative_and_function_level_imports(tmp_path, monkeypatch):
    # A fake package in place of src/: `from . import b` and an import inside a function are both followed.
    pkg = tmp_path / "charlm"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "a.py").write_text("from . import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from charlm import c\n")
    (pkg / "c.py").write_text("import os\n")
    (pkg / "unused.py").write_text("")
    script = tmp_path / "stage.py"
    script.write_text("from charlm.sub.a import x\n")
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    assert import_closure(script) == {"stage.py", "charlm/__init__.py", "charlm/sub/__init__.py",
                                      "charlm/sub/a.py", "charlm/sub/b.py", "charlm/c.py"}


def suggested_deps(script: Path) -> list[str]:
    """The closure of `script` as dvc.yaml deps: a folder where every .py file in it is imported, else files."""
    needed = import_closure(script)
    out = set(needed)
    for folder in sorted({str(Path(f).parent) for f in needed if f.startswith("src/charlm/")}, key=len):
        inside = {p.relative_to(REPO).as_posix() for p in (REPO / folder).rglob("*.py") if "__pycache__" not in p.parts}
        if folder != "src/charlm" and inside <= needed and not any(folder.startswith(f"{o}/") for o in out):
            out = {f for f in out if not f.startswith(f"{folder}/")} | {folder}
    return sorted(out)


if __name__ == "__main__":
    # `python tests/sharing/test_stage_deps.py`: print each stage script's code deps, ready for dvc.yaml.
    for script in sorted((REPO / "stages").glob("*.py")):
        print(f"{script.name}:\n" + "".join(f"  - {d}\n" for d in suggested_deps(script)))


def test_no_stage_reads_the_lazy_package_attributes():
    """What the analysis above leaves out (charlm.__getattr__'s imports) must stay out of every stage."""
    lazy = re.compile(r"\bcharlm\.(load|read_metrics)\b|from charlm import (load|read_metrics)\b")
    used = [p.name for p in (REPO / "stages").glob("*.py") if lazy.search(p.read_text(encoding="utf-8"))]
    assert used == []

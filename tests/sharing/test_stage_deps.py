"""Every stage in dvc.yaml depends on exactly the project code it runs, through one manifest.

The `code` stage writes data/code/<script>.json for each stage script: the md5 of the script and of every file
it reaches through imports (src/charlm/stage_code.py). Each other stage lists its script's manifest and no
source file of its own. A missing dependency would let dvc.lock claim results for code that did not produce
them; an extra one reruns a stage for an edit it cannot see (a preprocess edit retraining every model).
"""
from __future__ import annotations

import re
import shutil

import pytest
import yaml

from charlm.stage_code import import_closure, manifest, write_manifests
from helpers import REPO

CODE_ROOTS = ("stages/", "src/")


def _stages() -> list[tuple[str, str, list[str]]]:
    """(stage name, cmd, deps) for every stage; a foreach stage is checked once, through its `do` template."""
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    return [(name, (s.get("do") or s)["cmd"], (s.get("do") or s).get("deps", [])) for name, s in stages.items()]


def dependency_problems(name: str, cmd: str, deps: list[str]) -> list[str]:
    """One line per way the stage's code dependency is wrong."""
    scripts = re.findall(r"stages/(\w+)\.py", cmd)
    assert len(scripts) == 1, f"{name}: expected one stages/<name>.py in cmd {cmd!r}"
    if name == "code":
        return [] if sorted(deps) == ["src/charlm", "stages"] else [f"code: deps {deps}, not src/charlm and stages"]
    problems = [f"{name}: lists {d}; code is a dependency through data/code/{scripts[0]}.json only"
                for d in deps if d.startswith(CODE_ROOTS)]
    manifests = [d for d in deps if d.startswith("data/code/")]
    if manifests != [f"data/code/{scripts[0]}.json"]:
        problems.append(f"{name}: runs stages/{scripts[0]}.py but its code deps are {manifests}")
    return problems


@pytest.mark.parametrize("name, cmd, deps", _stages(), ids=[s[0] for s in _stages()])
def test_stage_depends_on_its_own_scripts_manifest_only(name, cmd, deps):
    assert dependency_problems(name, cmd, deps) == []


def test_the_check_names_a_source_file_and_another_scripts_manifest():
    name, cmd, deps = next(s for s in _stages() if s[0] == "train")
    assert dependency_problems(name, cmd, deps + ["src/charlm/io.py"]) == [
        "train: lists src/charlm/io.py; code is a dependency through data/code/train.json only"]
    swapped = [d.replace("data/code/train.json", "data/code/evaluate.json") for d in deps]
    assert dependency_problems(name, cmd, swapped) == [
        "train: runs stages/train.py but its code deps are ['data/code/evaluate.json']"]


def test_a_manifest_covers_what_its_script_imports_and_nothing_else():
    needed = import_closure(REPO / "stages" / "train.py", REPO)
    assert {"stages/train.py", "src/charlm/io.py", "src/charlm/train/loop.py", "src/charlm/__init__.py"} <= needed
    assert not {"src/charlm/data/corpus.py", "src/charlm/report/run.py", "stages/evaluate.py"} & needed
    preprocess = import_closure(REPO / "stages" / "preprocess.py", REPO)
    assert not any(f.startswith(("src/charlm/models/", "src/charlm/train/")) for f in preprocess)


def test_closure_follows_relative_and_function_level_imports(tmp_path):
    # A fake package in place of src/: `from . import b` and an import inside a function are both followed;
    # a module's own __getattr__ (a lazy attribute) and a module nothing imports are not.
    pkg = tmp_path / "src" / "charlm"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("def __getattr__(name):\n    from charlm import lazy\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "a.py").write_text("from . import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from charlm import c\n")
    (pkg / "c.py").write_text("import os\n")
    (pkg / "lazy.py").write_text("")
    (pkg / "unused.py").write_text("")
    (tmp_path / "stages").mkdir()
    script = tmp_path / "stages" / "stage.py"
    script.write_text("from charlm.sub.a import x\n")
    assert import_closure(script, tmp_path) == {"stages/stage.py", "src/charlm/__init__.py",
                                                "src/charlm/sub/__init__.py", "src/charlm/sub/a.py",
                                                "src/charlm/sub/b.py", "src/charlm/c.py"}


def test_an_edit_changes_only_the_manifests_of_the_stages_that_run_it(tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(REPO / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(REPO / "stages", root / "stages", ignore=shutil.ignore_patterns("__pycache__"))
    out = root / "data" / "code"
    write_manifests(root, out, skip=("code",))
    before = {p.name: (p.read_text(), p.stat().st_mtime_ns) for p in out.glob("*.json")}
    assert "code.json" not in before and {"train.json", "ngram.json", "fetch.json"} <= set(before)
    edited = root / "src" / "charlm" / "evaluate" / "bootstrap.py"
    edited.write_text(edited.read_text() + "\n# an edit\n")
    (root / "stages" / "fetch.py").rename(root / "stages" / "fetch_books.py")
    write_manifests(root, out, skip=("code",))
    after = {p.name: (p.read_text(), p.stat().st_mtime_ns) for p in out.glob("*.json")}
    changed = {name for name in before.keys() & after.keys() if before[name][0] != after[name][0]}
    users = {f"{s.stem}.json" for s in (root / "stages").glob("*.py")
             if "src/charlm/evaluate/bootstrap.py" in import_closure(s, root)}
    assert changed == users and {"evaluate.json", "ngram.json"} <= changed
    assert "train.json" not in changed and after["train.json"][1] == before["train.json"][1]   # not rewritten
    assert "fetch.json" not in after and "fetch_books.json" in after   # a renamed script: no stale manifest


def test_the_committed_manifests_are_this_code():
    """data/code is committed (cache: false): it must be what the code stage writes for this tree, or dvc.lock
    describes other code. `dvc repro code` rewrites it."""
    committed = {p.stem for p in (REPO / "data" / "code").glob("*.json")}
    scripts = {p.stem for p in (REPO / "stages").glob("*.py")} - {"code"}
    assert committed == scripts
    for name in sorted(scripts):
        assert yaml.safe_load((REPO / "data" / "code" / f"{name}.json").read_text()) == \
            manifest(REPO / "stages" / f"{name}.py", REPO), f"data/code/{name}.json is stale: run `dvc repro code`"


def test_no_stage_reads_the_lazy_package_attributes():
    """What the analysis above leaves out (charlm.__getattr__'s imports) must stay out of every stage."""
    lazy = re.compile(r"\bcharlm\.(load|read_metrics)\b|from charlm import (load|read_metrics)\b")
    used = [p.name for p in (REPO / "stages").glob("*.py") if lazy.search(p.read_text(encoding="utf-8"))]
    assert used == []

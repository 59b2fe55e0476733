"""The committed dvc.lock describes the committed code and the committed results: every stage's code and
params hash as recorded, and every `cache: false` output (metrics/eval/, reports/report.md, plots/, …) the
md5 that the lock gives it.

Run in CI's fresh clone, this is what a teammate sees after `git clone`: DVC-cached outputs are missing
there (no cache yet), which is fine, but a stage whose script, imported module, command or params differ
from the lock means the committed results did not come from the committed code, and a committed result
whose md5 differs from the lock was edited by hand or left from another run. Commit a change under a
stage's dependencies together with the rerun's dvc.lock and outputs.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

from dvc.repo import Repo

from charlm.stage_code import manifest_changes
from helpers import REPO, tool_env

CODE_ROOTS = ("stages/", "src/")


def lock_mismatches(root: Path) -> list[str]:
    """`<stage>: <path or params key>: <how>` for every code or params dependency that differs from dvc.lock."""
    proc = subprocess.run([sys.executable, "-m", "dvc", "status", "--json"], cwd=root, env=tool_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"dvc status failed:\n{proc.stderr}"
    problems = []
    for stage, changes in sorted(json.loads(proc.stdout or "{}").items()):
        for change in changes:
            if isinstance(change, str):   # "changed command", or a stage dvc.lock does not know
                problems.append(f"{stage}: {change}")
                continue
            for path, how in change.get("changed deps", {}).items():
                if isinstance(how, dict):  # a params file: {key: "modified" | "new" | "deleted"}
                    problems += [f"{stage}: {path}:{key}: {what}" for key, what in sorted(how.items())]
                elif path.startswith(CODE_ROOTS):
                    problems.append(f"{stage}: {path}: {how}")
    # Stages depend on their code through data/code/<script>.json, so DVC names only the code stage above;
    # each stage whose manifest the code stage would rewrite, with the files behind it, is named here.
    changes = manifest_changes(root, root / "data" / "code", skip=("code",))
    with Repo(str(root)) as repo:
        for stage in sorted(repo.index.stages, key=lambda s: s.name):
            for dep in stage.deps:
                script = Path(str(dep.def_path))
                if script.parent.as_posix() == "data/code" and script.stem in changes:
                    problems += [f"{stage.name}: {path}: {how}" for path, how in changes[script.stem].items()]
    return problems


def committed_results(root: Path) -> dict[str, str | None]:
    """{path: md5 in dvc.lock, None if the lock has none} of every `cache: false` output, as DVC reads dvc.yaml:
    the results kept in git rather than in DVC's cache."""
    with Repo(str(root)) as repo:
        return {str(out.def_path): out.hash_info.value
                for stage in repo.index.stages for out in stage.outs if not out.use_cache}


def dvc_md5(path: Path) -> str:
    """The md5 DVC records for an output (dvc.lock's `hash: md5`): of a file, its bytes'; of a folder, that of
    its `.dir` listing, the JSON list of {"md5", "relpath"} of its files in path order, with ".dir" appended."""
    if path.is_file():
        return hashlib.md5(path.read_bytes()).hexdigest()
    files = sorted((f.relative_to(path) for f in path.rglob("*") if f.is_file()), key=lambda f: f.parts)
    listing = [{"md5": dvc_md5(path / f), "relpath": f.as_posix()} for f in files]
    return hashlib.md5(json.dumps(listing, sort_keys=True).encode("utf-8")).hexdigest() + ".dir"


def result_mismatches(root: Path) -> list[str]:
    """`<path>: <how>` for every committed result (a `cache: false` output) that is not what dvc.lock records."""
    problems = []
    for path, locked in sorted(committed_results(root).items()):
        target = root / path
        if locked is None:
            problems.append(f"{path}: not in dvc.lock")
        elif not target.exists():
            problems.append(f"{path}: missing; dvc.lock has md5 {locked}")
        elif (actual := dvc_md5(target)) != locked:
            problems.append(f"{path}: md5 {actual}, but dvc.lock has {locked} (edited by hand, or from another run)")
    return problems


def copy_pipeline(dest: Path, results: bool = False) -> Path:
    """`dest` as a git repo holding the pipeline, its code and lock, and with `results` the committed results."""
    names = ["dvc.yaml", "dvc.lock", "params.yaml", ".dvcignore", ".dvc/config", "stages", "src", "data/code"]
    if results:
        names += [path for path in committed_results(REPO) if (REPO / path).exists()]
    for name in dict.fromkeys(names):   # data/code is a committed result too
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy2)(REPO / name, target)
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    return dest


def test_committed_lock_matches_the_tree():
    assert lock_mismatches(REPO) == []


def test_committed_lock_has_no_stage_the_pipeline_lost():
    """DVC keeps a removed or renamed stage's entry in dvc.lock; a stale one costs every `dvc repro` its parse
    and misleads a reader of the lock."""
    import yaml

    with Repo(str(REPO)) as repo:
        stages = {stage.name for stage in repo.index.stages}
    locked = set(yaml.safe_load((REPO / "dvc.lock").read_text())["stages"])
    assert sorted(locked - stages) == []


def test_committed_results_match_the_lock():
    results = committed_results(REPO)
    assert {"metrics/eval/ensemble.json", "reports/report.md", "plots", "metrics/summary.json"} <= set(results)
    assert result_mismatches(REPO) == []


def test_an_edited_or_missing_result_is_named(tmp_path):
    # The check must be able to fail: in a copy, edit one metric by hand and lose one chart, and see both reported.
    copy = copy_pipeline(tmp_path / "repo", results=True)
    assert result_mismatches(copy) == []

    metrics = copy / "metrics" / "eval" / "lstm.json"
    edited = json.loads(metrics.read_text(encoding="utf-8"))
    edited["test.bpc"] = round(edited["test.bpc"] - 0.01, 4)   # a better number, formatted as the stage writes it
    metrics.write_text(json.dumps(edited, sort_keys=True, indent=2) + "\n", encoding="utf-8")
    (copy / "plots" / "test_bpc.png").unlink()
    problems = result_mismatches(copy)
    assert [p.split(":")[0] for p in problems] == ["metrics/eval/lstm.json", "plots"], problems


def test_a_changed_module_is_named_with_each_stage_it_feeds(tmp_path):
    # The check must be able to fail: in a copy, edit one module and one param, and see both reported.
    copy = copy_pipeline(tmp_path / "repo")
    assert lock_mismatches(copy) == []

    with open(copy / "src" / "charlm" / "data" / "split.py", "a", encoding="utf-8") as f:
        f.write("\n# an edit\n")
    params = (copy / "params.yaml").read_text(encoding="utf-8")
    (copy / "params.yaml").write_text(params.replace("bootstrap_samples: ", "bootstrap_samples: 1"), encoding="utf-8")
    problems = lock_mismatches(copy)
    assert "preprocess: src/charlm/data/split.py: modified" in problems
    assert not any(p.startswith(("train@", "ngram")) and "split.py" in p for p in problems)
    assert any(p.startswith("evaluate@lstm: params.yaml:evaluate") for p in problems)

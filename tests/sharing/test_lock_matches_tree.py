"""The committed dvc.lock describes the committed code: every stage's code and params hash as recorded.

Run in CI's fresh clone, this is what a teammate sees after `git clone`: outputs are missing there (no
cache yet), which is fine, but a stage whose script, imported module, command or params differ from the
lock means the committed results did not come from the committed code. Commit a change under a stage's
dependencies together with the rerun's dvc.lock.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

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
    return problems


def test_committed_lock_matches_the_tree():
    assert lock_mismatches(REPO) == []


def test_a_changed_module_is_named_with_each_stage_it_feeds(tmp_path):
    # The check must be able to fail: in a copy, edit one module and one param, and see both reported.
    copy = tmp_path / "repo"
    for name in ("dvc.yaml", "dvc.lock", "params.yaml", ".dvcignore", ".dvc/config", "stages", "src"):
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy2)(REPO / name, target)
    subprocess.run(["git", "init", "-q"], cwd=copy, check=True)
    assert lock_mismatches(copy) == []

    with open(copy / "src" / "charlm" / "data" / "split.py", "a", encoding="utf-8") as f:
        f.write("\n# an edit\n")
    params = (copy / "params.yaml").read_text(encoding="utf-8")
    (copy / "params.yaml").write_text(params.replace("bootstrap_samples: ", "bootstrap_samples: 1"), encoding="utf-8")
    problems = lock_mismatches(copy)
    assert "preprocess: src/charlm/data/split.py: modified" in problems
    assert not any(p.startswith(("train@", "ngram@")) and "split.py" in p for p in problems)
    assert any(p.startswith("evaluate@lstm: params.yaml:evaluate") for p in problems)

"""`charlm diff` with real DVC, as docs/team.md's teammate uses it: a fresh clone pulls main's results, retrains
one model on a branch, and compares. Only the changed model gets a difference and an interval; main's scores
come through DVC (the clone never checks main out), and a DVC experiment is a revision too."""
from __future__ import annotations

import subprocess
import sys

import pytest

from helpers import TINY_BOOKS, TinyRepo, hermetic_env, make_tiny_repo, serve_books, tool_env

pytestmark = pytest.mark.e2e


def run(repo: TinyRepo, *args: str) -> str:
    """A command in the repo with its own src/ on the path; stdout, or the test fails with its output."""
    proc = subprocess.run(list(args), cwd=repo.root, env=hermetic_env(repo), capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, f"{' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def charlm_diff(repo: TinyRepo, *args: str) -> dict[str, str]:
    """{entry: its line} of `charlm diff <args>`."""
    out = run(repo, sys.executable, "-m", "charlm.cli", "diff", *args)
    return {line.split()[0]: line for line in out.splitlines()[3:]}


def test_a_teammate_compares_a_retrained_model_with_main(tmp_path):
    server = serve_books(TINY_BOOKS)
    try:
        origin = make_tiny_repo(tmp_path / "origin", f"{server.url}/{{id}}.txt", books=TINY_BOOKS)
        run(origin, "dvc", "repro")
    finally:
        server.stop()
    run(origin, "dvc", "remote", "add", "-d", "storage", str(tmp_path / "remote"))
    run(origin, "dvc", "push")
    run(origin, "git", "add", "-A")
    run(origin, "git", "commit", "-q", "-m", "results")
    run(origin, "git", "branch", "-M", "main")
    subprocess.run(["git", "clone", "-q", str(origin.root), str(tmp_path / "mate")], check=True, env=tool_env())
    mate = TinyRepo(tmp_path / "mate")
    run(mate, "dvc", "pull")
    entries = set(charlm_diff(mate, "main"))
    assert {"gru", "kn4", "ensemble", "champion.dynamic"} <= entries
    unknown = subprocess.run([sys.executable, "-m", "charlm.cli", "diff", "no-such-rev"], cwd=mate.root,
                             env=hermetic_env(mate), capture_output=True, text=True, timeout=120)
    assert unknown.returncode == 1 and unknown.stderr.startswith("error: no-such-rev: neither a git revision nor a "
                                                                 "DVC experiment")

    # A branch with a wider GRU: only gru (and what reads its scores) reruns.
    run(mate, "git", "checkout", "-q", "-b", "wider")
    mate.edit_params(**{"models.gru.hidden_size": 24})
    run(mate, "dvc", "repro")
    rows = charlm_diff(mate, "main", "--per-book")
    gru = rows.pop("gru").split()
    assert gru[1] != gru[2] and gru[4].startswith("[") and gru[5].endswith("]")   # main, here, Δ, interval, p
    # gru's repeats at compare.seeds are retrained at the new width too: changed, like gru.
    repeats = {f"gru-s{seed}" for seed in mate.params["compare"]["seeds"]}
    assert repeats <= entries and all(not rows.pop(r).endswith("identical") for r in repeats)
    assert {name for name, line in rows.items() if line.endswith("identical")} == entries - {"gru", *repeats}
    assert rows["book"]   # per-book rows follow the changed entry (and only it)

    # The same change as a DVC experiment, compared from main's workspace by the experiment's name.
    run(mate, "git", "checkout", "-q", "main")
    run(mate, "dvc", "checkout")
    run(mate, "dvc", "exp", "run", "-n", "widegru", "-S", "models.gru.hidden_size=24")
    run(mate, "git", "checkout", "-q", "--", ".")
    run(mate, "dvc", "checkout", "--force")
    by_name = charlm_diff(mate, "widegru", "--models", "gru,kn4")
    assert set(by_name) == {"gru", "kn4"} and by_name["kn4"].endswith("identical")
    assert by_name["gru"].split()[3] == f"{-float(gru[3]):+.4f}"   # the branch's change, seen from the other side

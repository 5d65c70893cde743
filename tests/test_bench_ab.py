"""The paired A/B benchmark (inference/evaluation/bench_ab.py): its bookkeeping, without servers."""

import subprocess
from pathlib import Path

from inference.evaluation.bench_ab import LANGS, WARM, checkout, report


def test_the_working_tree_is_run_from_where_it_is(tmp_path):
    root = Path(__file__).resolve().parent.parent
    assert checkout(".", root, tmp_path) == root
    assert not any(tmp_path.iterdir())


def test_a_revision_gets_a_detached_worktree_of_its_own(tmp_path):
    root = Path(__file__).resolve().parent.parent
    tree = checkout("HEAD", root, tmp_path)
    try:
        assert (tree / "inference" / "cli.py").is_file() and tree.parent == tmp_path
    finally:
        subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(tree)], check=True)


def test_the_report_gives_each_revision_its_median_and_paired_difference(capsys):
    latencies = {(0, lang): [20.0, 22.0, 30.0] for lang in LANGS} | {(1, lang): [18.0, 21.0, 26.0] for lang in LANGS}
    report(["old", "new"], latencies, [3.0, 2.0], requests=3)
    out = capsys.readouterr().out
    assert "old: en p50  22.00 ms (paired vs old: +0.00)" in out
    assert "new: en p50  21.00 ms (paired vs old: -2.00)" in out
    assert f"server CPU {2.0 / (len(LANGS) * (WARM + 3)) * 1000:.1f} ms/request" in out

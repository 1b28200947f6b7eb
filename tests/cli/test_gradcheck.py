"""``nudgenet gradcheck``: backpropagation against finite differences, from the shell."""

from __future__ import annotations

from clitools import run, run_json


def test_gradcheck_passes(capsys) -> None:
    result = run_json(capsys, "gradcheck")
    assert result["passed"] is True
    assert result["max_relative_error"] < 1e-6
    code, out, _ = run(capsys, "gradcheck", "--activation", "relu", "--output", "softmax")
    assert code == 0
    assert "passed" in out


def test_gradcheck_every_combination(capsys) -> None:
    result = run_json(capsys, "gradcheck", "--all", "--l2", "0.01")
    assert len(result["checks"]) == 3 * 2 * 2 * 5
    assert all(c["max_relative_error"] < 1e-6 for c in result["checks"])

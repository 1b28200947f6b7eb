"""``nudgenet export`` and ``import``, and the README's section that uses them."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from clitools import run, run_json

from nudgenet import Model
from nudgenet.cli import main

pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("safetensors")

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Use it from scikit-learn, PyTorch and ONNX"


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seed network trained for one epoch on the embedded data."""
    path = tmp_path_factory.mktemp("model") / "seed.npz"
    assert main(["train", "--epochs", "1", "--out", str(path), "--json"]) == 0
    return path


@pytest.mark.parametrize(("to", "suffix"), [("torch", ".pt"), ("onnx", ".onnx"),
                                            ("safetensors", ".safetensors")])  # fmt: skip
def test_export_writes_each_format(
    saved: Path, tmp_path: Path, capsys, to: str, suffix: str
) -> None:
    by_name = run_json(capsys, "export", str(saved), "--out", str(tmp_path / f"m{suffix}"))
    assert by_name["to"] == to
    assert by_name["num_params"] == 13002
    out = tmp_path / "chosen.bin"
    by_flag = run_json(capsys, "export", str(saved), "--to", to, "--out", str(out))
    assert by_flag["bytes"] == out.stat().st_size == (tmp_path / f"m{suffix}").stat().st_size
    code, text, _ = run(capsys, "export", str(saved), "--out", str(tmp_path / f"n{suffix}"))
    assert code == 0
    assert f"written as {to} to" in text


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_import_gives_the_same_model_back(saved: Path, tmp_path: Path, capsys, suffix: str) -> None:
    exported = tmp_path / f"m{suffix}"
    export(capsys, saved, exported)
    back = tmp_path / "back.npz"
    result = run_json(capsys, "import", str(exported), "--out", str(back))
    assert result["format"] == suffix.lstrip(".").replace("pt", "torch")
    original, again = Model.load(saved), Model.load(back)
    assert again.theta.tobytes() == original.theta.tobytes()
    assert again.network == original.network
    evaluated = run_json(capsys, "evaluate", str(back))
    assert evaluated["accuracy"] == pytest.approx(original.history[-1]["test_accuracy"])


def test_safetensors_files_are_read_like_models(saved: Path, tmp_path: Path, capsys) -> None:
    exported = tmp_path / "m.safetensors"
    export(capsys, saved, exported)
    info = run_json(capsys, "info", str(exported))
    assert info["history"] == Model.load(saved).history
    assert run_json(capsys, "evaluate", str(exported))["accuracy"] == pytest.approx(
        run_json(capsys, "evaluate", str(saved))["accuracy"]
    )
    assert (
        run_json(capsys, "export", str(exported), "--out", str(tmp_path / "m.onnx"))["to"] == "onnx"
    )


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["export", "{model}", "--out", "{tmp}/m.h5"], "cannot tell which format to write"),
        (["export", "{model}", "--out", "{tmp}/missing/m.pt"], "does not exist"),
        (["export", "{tmp}/none.npz", "--out", "{tmp}/m.pt"], "no model file at"),
        (["import", "{model}", "--out", "{tmp}/x.npz"], "is a nudgenet model already"),
        (["import", "{tmp}/m.onnx", "--out", "{tmp}/x.npz"], "neither a PyTorch state_dict"),
        (["import", "{pt}", "--sizes", "784,32,10", "--out", "{tmp}/x.npz"],
         "does not hold the tensors of a 784,32,10 network"),
        (["import", "{st}", "--output", "softmax", "--out", "{tmp}/x.npz"],
         "--output softmax contradicts"),
    ],
)  # fmt: skip
def test_mistakes_are_one_error_and_one_help_line(
    saved: Path, tmp_path: Path, capsys, argv: list[str], error: str
) -> None:
    pt, st = tmp_path / "m.pt", tmp_path / "m.safetensors"
    export(capsys, saved, pt)
    export(capsys, saved, st)
    export(capsys, saved, tmp_path / "m.onnx")
    names = {"model": saved, "tmp": tmp_path, "pt": pt, "st": st}
    code, _, err = run(capsys, *(a.format(**names) for a in argv))
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 2, err
    assert lines[0].startswith("error: ")
    assert error in lines[0]
    assert lines[1].startswith("help: ")
    assert not (tmp_path / "x.npz").exists()


def export(capsys, model: Path, out: Path) -> None:
    """``nudgenet export MODEL --out OUT``, which must succeed; its report is dropped."""
    code, _, err = run(capsys, "export", str(model), "--out", str(out))
    assert code == 0, err


def readme_section() -> tuple[list[str], list[str]]:
    """The section's shell commands and its Python blocks that are not doctests."""
    text = README.read_text()
    section = text[text.index(SECTION) :]
    section = section[: section.index("\n## ", len(SECTION))]
    blocks = re.findall(r"```(\w+)\n(.*?)```", section, flags=re.DOTALL)
    commands = [line for kind, body in blocks if kind == "bash" for line in body.splitlines()]
    scripts = [body for kind, body in blocks if kind == "python" and ">>>" not in body]
    return commands, scripts


def test_the_readme_section_runs(
    saved: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    pytest.importorskip("onnxruntime")
    commands, scripts = readme_section()
    assert len(commands) == 5
    assert len(scripts) == 1
    monkeypatch.chdir(tmp_path)
    (tmp_path / "nudgenet-model.npz").write_bytes(saved.read_bytes())
    for command in commands:
        words = shlex.split(command, comments=True)
        assert words[0] == "nudgenet"
        code, _, err = run(capsys, *words[1:])
        assert code == 0, f"{command}: {err}"
    assert Model.load("again.npz").theta.tobytes() == Model.load(saved).theta.tobytes()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(scripts[0], "README.md", "exec"), {})
    difference = float(printed.getvalue().split()[-1])
    assert 0 <= difference < 1e-5
    assert np.isfinite(difference)

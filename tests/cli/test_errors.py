"""Every expected error of the command line: one ``error:`` line, one ``help:`` line, status 1.

A table of bad invocations across every command runs in-process, and a few through a real
process; saving that fails after training keeps the model under another name; one
unreadable image does not cost the others their answers; file names that are not UTF-8 are
printed; and random argument lists never raise out of ``main``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from clitools import run
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

import nudgenet.cli.train as train_cli
from nudgenet import Model
from nudgenet.cli import main
from nudgenet.cli.main import build_parser
from nudgenet.errors import OutputError

SRC = Path(__file__).resolve().parents[2] / "src"
LONG = "x" * 256  # one byte more than a file name may have


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Each command's own parser, by name."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no subcommands")


@pytest.fixture(scope="module")
def fx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of good and bad inputs: models, images, data folders, files in the way."""
    d = tmp_path_factory.mktemp("fixtures")
    assert main(["train", "--epochs", "1", "--snapshots", "--out", str(d / "good.npz"),
                 "--json"]) == 0  # fmt: skip
    (d / "notamodel.npz").write_text("hello")
    (d / "truncated.npz").write_bytes((d / "good.npz").read_bytes()[:1000])
    (d / "bad.png").write_text("not an image")
    digit = np.zeros((28, 28), np.uint8)
    digit[5:23, 12:16] = 255
    Image.fromarray(digit).save(d / "one.png")
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(d / "blank.png")
    (d / "emptydir").mkdir()
    (d / "garbage").mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):  # fmt: skip
        (d / "garbage" / name).write_bytes(b"xxxx")
    (d / "afile").write_text("a file where a folder is expected")
    (d / "corrupt-sweep").mkdir()
    (d / "corrupt-sweep" / "results.json").write_text('{"format": 1, "results": [')
    (d / "odd-sweep" / "results.json").mkdir(parents=True)
    return d


# Every case fails before any output, so stdout stays empty (with --json too).
CASES = {
    "train": [
        "--data {fx}/missing-folder", "--data {fx}/emptydir", "--data {fx}/garbage",
        "--data {fx}/afile", "--sizes 100,10", "--lr nan", "--lr inf", "--lr -1",
        "--lr 1e300", "--momentum 1", "--momentum nan", "--l2 -1", "--l2 inf",
        "--batch-size -1", "--epochs 0", "--epochs -3", "--seed -1", "--seed 4294967296",
        "--out {fx}/emptydir", "--out ''", "--out {fx}/afile/x.npz",
        "--out {fx}/missing/x.npz", f"--out {{fx}}/{LONG}", "--plots {fx}/afile",
        "--plots {fx}/afile/sub", "--plots ''", "--lr nan --json", "--out '' --json",
    ],
    "evaluate": [
        "{fx}/missing.npz", "{fx}/notamodel.npz", "{fx}/truncated.npz", "{fx}/emptydir",
        "{fx}/one.png", "{fx}/good.npz --data {fx}/emptydir", "{fx}/missing.npz --json",
    ],
    "predict": [
        "{fx}/missing.npz {fx}/one.png", "{fx}/notamodel.npz {fx}/one.png",
        "{fx}/good.npz {fx}/missing.png", "{fx}/good.npz {fx}/bad.png",
        "{fx}/good.npz {fx}/emptydir", "{fx}/good.npz {fx}/blank.png",
        "{fx}/good.npz {fx}/one.png --top 0", "{fx}/good.npz {fx}/one.png --top -1",
    ],
    "info": ["{fx}/missing.npz", "{fx}/notamodel.npz", "{fx}/truncated.npz", "{fx}/emptydir"],
    "export": [
        "{fx}/missing.npz --out {fx}/x.pt", "{fx}/notamodel.npz --out {fx}/x.onnx",
        "{fx}/truncated.npz --out {fx}/x.safetensors", "{fx}/good.npz --out {fx}/x.h5",
        "{fx}/good.npz --to onnx --out {fx}/emptydir", "{fx}/good.npz --out {fx}/afile/x.pt",
        "{fx}/good.npz --out {fx}/missing/x.pt", "{fx}/good.npz --out ''",
        "{fx}/good.npz --out {fx}/x.h5 --json",
    ],
    "import": [
        "{fx}/missing.pt --out {fx}/x.npz", "{fx}/notamodel.npz --out {fx}/x.npz",
        "{fx}/good.npz --out {fx}/x.npz", "{fx}/one.png --out {fx}/x.npz",
        "{fx}/emptydir --out {fx}/x.npz", "{fx}/afile --out {fx}/x.npz",
        "{fx}/missing.pt --out ''", "{fx}/good.npz --sizes 784,16 --out {fx}/x.npz",
    ],
    "gradcheck": [
        "--l2 nan", "--l2 inf", "--l2 -1", "--l2 1e300", "--batch-size 0",
        "--batch-size 100000", "--seed -1", "--l2 nan --json",
    ],
    "backprop": [
        "{fx}/missing.npz", "{fx}/notamodel.npz", "{fx}/truncated.npz", "--image -1",
        "--image 99999", "--label 10", "--label -1", "--file {fx}/one.png",
        "{fx}/good.npz --file {fx}/bad.png --label 1", "--file {fx}/blank.png --label 1",
        "--file {fx}/missing.png --label 1", "--file {fx}/emptydir --label 1",
        f"--file {{fx}}/{LONG}.png --label 1", "--data {fx}/garbage", "--seed -1",
        "--image 99999 --json",
    ],
    "plot": [
        "{fx}/missing.npz", "{fx}/good.npz --image -1", "{fx}/good.npz --image 99999",
        "{fx}/good.npz --out {fx}/afile", "{fx}/good.npz --out {fx}/afile/sub",
        "{fx}/good.npz --data {fx}/emptydir", "{fx}/good.npz --out ''",
    ],
    "symmetry": [
        "--lr nan", "--lr 0", "--constant-value nan", "--constant-value inf",
        "--constant-value 1e308", "--constant-value 101", "--epochs 0",
        "--plot {fx}/afile/x.png", "--plot {fx}/missing/x.png", "--plot .", "--plot ''",
        "--data {fx}/emptydir", "--seed -1",
    ],
    "nudges": [
        "--lr nan", "--lr -1", "--lr 1e7", "--top 0", "--image -1", "--image 1000000",
        "--examples -1", "{fx}/notamodel.npz", "--plot {fx}/afile/x.png",
        "--data {fx}/garbage",
    ],
    "landscape": [
        "--span 1e308", "--span nan", "--span 0", "--span -1", "--span 1001",
        "--resolution 1", "--resolution 1000", "--lr inf", "--lr 1e7",
        "--out {fx}/afile", "--out {fx}/missing", "--out ''", "--examples -1",
        "{fx}/missing.npz", "--span 1e308 --json",
    ],
    "features": [
        "{fx}/missing.npz", "{fx}/notamodel.npz", "--seeds 0,0", "--seeds 0-40",
        "--plot {fx}/afile", "--plot ''", "--data {fx}/emptydir",
    ],
    "noise": [
        "--images 0", "--images 100001", "--seeds 4294967296", "--plot {fx}/afile/sub",
        "{fx}/truncated.npz",
    ],
    "dream": [
        "12", "{fx}/good.npz -1", "5 --start clouds", "5 --start test-image 99999",
        "5 --start noise 3", "5 --steps 0", "5 --steps 100001", "5 --lr 0", "5 --lr nan",
        "5 --smooth -1", "5 --range inf", "5 --lr 10 --smooth 10 --seeds 0",
        "{fx}/notamodel.npz 5", "5 --plot {fx}/afile",
    ],
    "memorize": [
        "--epochs 0", "--epochs 1001", "--limit 0", "--fit-accuracy 0", "--fit-accuracy 1.5",
        "--seeds 3,3", "--data {fx}/emptydir", "--plot {fx}/afile",
    ],
    "descend": [
        "'w**'", "--lr nan", "--w0 nan", "--w0 inf", "--w0 1e308", "--start=nan,1",
        "--tol nan", "--tol -1", "--steps -1", "--steps 1000000",
        "--plot {fx}/afile/x.png", "--plot .", "--svg",
    ],
    "learning-rate": [
        "--rates nan", "--rates -1", "--rates 1e308", "--schedules constant --lr nan",
        "--steps -1", "--on network --epochs 0", "--plot {fx}/afile/x.png",
        "--on network --examples 0",
    ],
    "curvature": [
        "{fx}/missing.npz", "{fx}/notamodel.npz", "{fx}/good.npz --limit 0",
        "{fx}/good.npz --limit 100000", "{fx}/good.npz --limit 20000", "{fx}/good.npz --top 0",
        "{fx}/good.npz --top 51", "{fx}/good.npz --svg", "{fx}/good.npz --plot {fx}/afile",
        "{fx}/good.npz --plot {fx}/missing", "{fx}/good.npz --plot ''",
        "{fx}/good.npz --data {fx}/emptydir", "{fx}/good.npz --seed -1", "{fx}/missing.npz --json",
    ],
    "critical-rate": [
        "--seeds 0-30", "--seeds 4294967296", "--rates 0", "--rates -1", "--steps 0",
        "--bisections 0", "--bisections 31", "--every 0", "--edge-steps 0",
        "--every 2000 --edge-steps 1000", "--limit 0", "--epochs 0", "--svg",
        "--plot {fx}/afile/x.png", "--plot {fx}/missing/x.png", "--data {fx}/emptydir",
    ],
    "serve": ["--port -1", "--port 70000", "--seed-epochs 0", "--seed -1"],
    "power-rule": [
        "'sin(w)'", "'w**'", "'x**2 + y**2'", "'w**-1' --at 0", "'(w+1)**1000'",
        "--plot {fx}/afile", "--plot {fx}/afile/sub", "--svg",
    ],
    "why-squared": [
        "--epochs 0", "--seed -1", "--data {fx}/emptydir", "--plot {fx}/afile", "--svg",
    ],
    "steepest": [
        "--directions 0", "--directions 100001", "--examples -1", "--lr 0",
        "{fx}/notamodel.npz", "--plot {fx}/afile", "--data {fx}/garbage",
    ],
    "one-weight": [
        "--index -1", "--index 13002", "--lr -1", "{fx}/missing.npz", "--plot {fx}/afile",
    ],
    "momentum": [
        "'x**2 - y**2' --start 1,1", "'x**4 + y**2' --start 1,1", "--start 1", "--steps 0",
        "--momentum 1", "--momentum -0.5", "--momentum 0,0,0,0,0,0,0,0,0,0,0", "--lr 0",
        "--plot {fx}/afile", "--svg",
    ],
    "sweep": [
        "--limit 0", "--limit -5", "--lr nan", "--lr 0", "--lr-range 1:0.1:3",
        "--lr-range 0.1:inf:3", "--lr-range 0.1:1:0", "--lr-range 0.1:1:1000000",
        "--chunk 0", "--batch-sizes -1", "--out {fx}/afile", "--out {fx}/afile/sub",
        "--out ''", "--epochs 0", "--data {fx}/emptydir", "--out {fx}/corrupt-sweep --resume",
        "--out {fx}/corrupt-sweep", "--out {fx}/odd-sweep", "--seeds 0,0",
    ],
}  # fmt: skip
TABLE = [(command, case) for command, cases in CASES.items() for case in cases]


def assert_one_error(code: int, out: str | None, err: str, *, json_out: bool = False) -> None:
    """Status 1, exactly one ``error:`` and one ``help:`` line, no traceback or warning.

    stdout must be empty, or one JSON object with ``json_out``; ``None``: not checked.
    """
    lines = err.splitlines()
    assert code == 1, err
    assert sum(line.startswith("error:") for line in lines) == 1, err
    assert sum(line.startswith("help:") for line in lines) == 1, err
    assert "Traceback" not in err
    assert "Warning" not in err
    assert "warning:" not in err
    if out is None:
        return
    if json_out and out:
        json.loads(out)
    else:
        assert out == ""


def test_the_table_covers_every_command() -> None:
    commands = {name for name, _ in TABLE}
    assert commands == set(_subparsers(build_parser()))
    assert len(TABLE) >= 60


@pytest.mark.parametrize(("command", "case"), TABLE, ids=[f"{c} {a[:40]}" for c, a in TABLE])
def test_each_bad_invocation_is_one_error_and_one_help(
    fx: Path, command: str, case: str, capsys, monkeypatch
) -> None:
    monkeypatch.chdir(fx)
    argv = [command, *shlex.split(case.replace("{fx}", str(fx)))]
    code, out, err = run(capsys, *argv)
    assert_one_error(code, out, err)


def _float_flags() -> list[tuple[str, str]]:
    """Every flag of every command that takes a number with a fraction, or a list of them."""
    from nudgenet.cli.common import float_list

    found = []
    for command, parser in _subparsers(build_parser()).items():
        for action in parser._actions:
            if action.type in (float, float_list) or action.dest == "lr_range":
                found.append((command, action.option_strings[0]))
    return found


FLOAT_FLAGS = _float_flags()


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400"])
@pytest.mark.parametrize(("command", "flag"), FLOAT_FLAGS, ids=[" ".join(f) for f in FLOAT_FLAGS])
def test_every_float_flag_refuses_nan_and_inf(command: str, flag: str, value: str, capsys) -> None:
    spelled = f"0.1:{value}:3" if flag == "--lr-range" else value
    code, out, err = run(capsys, command, f"{flag}={spelled}")
    assert_one_error(code, out, err)


def test_there_are_float_flags_to_check() -> None:
    assert len(FLOAT_FLAGS) >= 19
    assert ("descend", "--tol") in FLOAT_FLAGS
    assert ("gradcheck", "--l2") in FLOAT_FLAGS


def test_an_error_without_help_of_its_own_gets_the_commands_help(capsys, monkeypatch) -> None:
    from nudgenet.errors import ConfigError

    def fails(args: argparse.Namespace) -> int:
        raise ConfigError("something was wrong")

    monkeypatch.setattr(train_cli, "run_train", fails)  # read when the parser is built
    code, out, err = run(capsys, "train")
    assert_one_error(code, out, err)
    assert "help: run 'nudgenet train --help'" in err


# --------------------------------------------------------------------------- real processes


def _nudgenet(
    *argv: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``python -m nudgenet ARGV...`` from this checkout, as a separate process."""
    env = {**os.environ, "PYTHONPATH": str(SRC), **(env or {})}
    return subprocess.run([sys.executable, "-m", "nudgenet", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip


@pytest.mark.parametrize(
    "argv",
    [
        ["info", "missing.npz"],
        ["train", "--out", ""],
        ["train", "--out", "afile/x.npz"],
        ["landscape", "--span", "1e308"],
        ["gradcheck", "--l2", "nan"],
        ["sweep", "--limit", "0"],
        ["sweep", "--out", "corrupt-sweep", "--resume"],
        ["predict", "good.npz", "bad.png"],
    ],
)
def test_bad_invocations_in_a_real_process(fx: Path, argv: list[str]) -> None:
    done = _nudgenet(*argv, cwd=fx)
    assert_one_error(done.returncode, done.stdout, done.stderr)


def test_non_utf8_file_names_print_on_a_strict_utf8_stdout(fx: Path, tmp_path: Path) -> None:
    name = os.fsdecode(b"\xff.png")  # not UTF-8: decoded with a lone surrogate
    shutil.copy(fx / "one.png", tmp_path / name)
    strict = {"PYTHONIOENCODING": "utf-8:strict"}
    done = _nudgenet("predict", str(fx / "good.npz"), name, os.fsdecode(b"\xfe.png"),
                     cwd=tmp_path, env=strict)  # fmt: skip
    assert done.returncode == 1  # the second image is missing
    assert done.stdout.startswith("\\udcff.png: ")
    assert "Traceback" not in done.stderr
    assert "\\udcfe.png" in done.stderr
    done = _nudgenet("predict", str(fx / "good.npz"), name, "--json", cwd=tmp_path, env=strict)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["predictions"][0]["image"] == name


# --------------------------------------------------------------------------- saving


@pytest.fixture
def read_only(tmp_path: Path):
    """A folder that refuses new files, even to root (chattr +i), or skip."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(folder)], capture_output=True,
                                        check=False).returncode != 0:  # fmt: skip
        pytest.skip("cannot make a folder read-only for root here (no chattr +i)")
    try:
        yield folder
    finally:
        subprocess.run([chattr, "-i", str(folder)], check=False)


def test_train_into_a_read_only_folder_fails_before_training(read_only: Path, capsys) -> None:
    code, out, err = run(capsys, "train", "--epochs", "1", "--out", str(read_only / "m.npz"))
    assert_one_error(code, out, err)
    assert "not writable" in err or "read-only" in err or "Operation not permitted" in err


def test_train_as_an_unprivileged_user_fails_before_training(tmp_path: Path) -> None:
    if os.geteuid() != 0 or not hasattr(os, "fork"):
        pytest.skip("needs root, to become another user")
    folder = tmp_path / "roots"
    folder.mkdir(mode=0o755)
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 99
        try:
            with open(out, "w") as o, open(err, "w") as e:
                os.setgid(65534)
                os.setuid(65534)
                with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
                    code = main(["train", "--epochs", "1", "--out", str(folder / "m.npz")])
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert_one_error(os.waitstatus_to_exitcode(status), out.read_text(), err.read_text())
    assert "Permission denied" in err.read_text()


@pytest.fixture
def no_preflight(monkeypatch) -> None:
    """Skip the check before training, so the save itself meets the failure."""
    monkeypatch.setattr(train_cli, "check_output", lambda path, flag: path)


@pytest.mark.usefixtures("no_preflight")
@pytest.mark.parametrize("json_out", [False, True])
def test_a_save_that_fails_after_training_keeps_the_model(
    tmp_path: Path, capsys, monkeypatch, json_out: bool
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    monkeypatch.setattr(train_cli.time, "strftime", lambda _: "20260101-000000")
    taken = tmp_path / "nudgenet-model-20260101-000000.npz"
    taken.write_bytes(b"someone else's")
    argv = ["train", "--epochs", "1", "--out", "afile/m.npz", *(["--json"] if json_out else [])]
    code, out, err = run(capsys, *argv)
    assert_one_error(code, out if json_out else None, err, json_out=True)
    saved = tmp_path / "nudgenet-model-20260101-000000-1.npz"
    assert f"help: the trained model was saved to {saved.name} instead" in err
    assert taken.read_bytes() == b"someone else's"  # never overwritten
    assert Model.load(saved).network.sizes == (784, 16, 16, 10)
    if json_out:
        result = json.loads(out)
        assert result["model"] == saved.name
        assert result["not_saved_to"] == "afile/m.npz"
    else:
        assert out.rstrip().endswith(f"model saved to {saved.name}")


@pytest.mark.usefixtures("no_preflight")
def test_a_save_into_a_read_only_folder_falls_back(
    read_only: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "train", "--epochs", "1", "--out", str(read_only / "m.npz"))
    assert code == 1
    [saved] = tmp_path.glob("nudgenet-model-*.npz")
    assert f"saved to {saved.name} instead" in err
    assert list(read_only.iterdir()) == []


@pytest.mark.usefixtures("no_preflight")
def test_when_no_fallback_works_the_error_says_so(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")

    def nowhere(model: Model, folder: Path) -> Path:
        raise OutputError(f"cannot write into {folder}", help="none")

    monkeypatch.setattr(train_cli, "save_new", nowhere)
    code, _, err = run(capsys, "train", "--epochs", "1", "--out", "afile/m.npz")
    assert code == 1
    assert "nor could the model be saved" in err
    assert "Traceback" not in err


def test_a_name_that_just_fits_is_saved(tmp_path: Path, capsys) -> None:
    name = "m" * 251 + ".npz"  # 255 bytes: the temporary name must not be longer
    code, _, err = run(capsys, "train", "--epochs", "1", "--out", str(tmp_path / name))
    assert code == 0, err
    assert Model.load(tmp_path / name).n_params == 13002
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_figures_after_the_save_fail_with_the_model_safe(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    def fails(*args, **kwargs):
        raise OutputError("cannot write plots/cost.png: No space left on device", help="free")

    monkeypatch.setattr(train_cli.pictures, "draw_plots", fails)
    out_model = tmp_path / "m.npz"
    code, _, err = run(capsys, "train", "--epochs", "1", "--out", str(out_model),
                         "--plots", str(tmp_path / "plots"))  # fmt: skip
    assert code == 1
    assert f"help: the model is saved in {out_model}" in err
    assert Model.load(out_model).n_params == 13002


# --------------------------------------------------------------------------- predict


def test_predict_answers_the_good_images_and_reports_the_bad(fx: Path, capsys) -> None:
    good, bad = str(fx / "one.png"), str(fx / "bad.png")
    code, out, err = run(capsys, "predict", str(fx / "good.npz"), good, bad, good)
    assert code == 1
    assert [line.split(":")[0] for line in out.splitlines()] == [good, good]
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "bad.png" in errors[0]
    assert "(2 other images answered)" in err
    code, out, err = run(capsys, "predict", str(fx / "good.npz"), good, bad, "--json")
    assert code == 1
    result = json.loads(out)
    assert [p["image"] for p in result["predictions"]] == [good]
    assert [f["image"] for f in result["failures"]] == [bad]
    assert result["failures"][0]["help"]
    code, out, err = run(capsys, "predict", str(fx / "good.npz"), bad, str(fx / "blank.png"))
    assert code == 1
    assert out == ""
    assert sum(line.startswith("error:") for line in err.splitlines()) == 2
    assert sum(line.startswith("help:") for line in err.splitlines()) == 1


# --------------------------------------------------------------------------- sweep


def test_sweep_resume_never_replaces_a_damaged_results_file(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    damaged = folder / "results.json"
    for text in ("{not json", "[1, 2]", '{"format": 1, "results": [{"key": "x"}]}', "\udcff"):
        damaged.write_bytes(text.encode("utf-8", "surrogateescape"))
        code, out, err = run(capsys, "sweep", "--limit", "50", "--epochs", "1",
                             "--out", str(folder), "--resume")  # fmt: skip
        assert_one_error(code, out, err)
        assert "is left as it is" in err
        assert damaged.read_bytes() == text.encode("utf-8", "surrogateescape")
        assert sorted(p.name for p in folder.iterdir()) == ["results.json"]


# --------------------------------------------------------------------------- random argv


# serve would serve for ever when its arguments are good; --cluster waits 30 s for a
# scheduler that is not there. Both are covered by the table instead.
FUZZED = {name: p for name, p in _subparsers(build_parser()).items() if name != "serve"}
SKIPPED_FLAGS = {"--cluster", "--help", "-h"}
WORDS = ["0", "1", "2", "3", "-1", "-5", "nan", "inf", "-inf", "1e308", "-1e308", "1e-300",
         "0.5", "1e6", "abc", "", " ", "1,2", "0,0", "0-4", "5-1", "0.01:1:3", "1:0:3",
         "784,16,10", "784,0", "mini", "{fx}/missing", "{fx}/emptydir", "{fx}/garbage",
         "{fx}/afile", "{fx}/afile/x", "{fx}/good.npz", "{fx}/notamodel.npz",
         "{fx}/one.png", "{fx}/bad.png", "x" * 300, "\udcff", "-", "--", "(w-3)**2",
         "w**", "x**2 + 3*y**2", "log(w)", "constant,cosine", "warmup"]  # fmt: skip
VALUES = st.one_of(st.sampled_from(WORDS), st.integers(-3, 4).map(str), st.text(max_size=6))


@st.composite
def argv_lists(draw: st.DrawFn) -> list[str]:
    """A subcommand, some of its flags with random values, and random positionals."""
    command = draw(st.sampled_from(sorted(FUZZED)))
    parser = FUZZED[command]
    flags = [a for a in parser._actions
             if a.option_strings and not set(a.option_strings) & SKIPPED_FLAGS]  # fmt: skip
    positionals = [a for a in parser._actions if not a.option_strings]
    argv = [command]
    for action in draw(st.lists(st.sampled_from(flags), max_size=4)):
        argv.append(draw(st.sampled_from(action.option_strings)))
        if action.nargs != 0:
            argv.append(draw(VALUES))
    for _ in positionals:
        argv.extend(draw(st.lists(VALUES, max_size=2)))
    return argv


@pytest.fixture
def small_data(monkeypatch):
    """mini cut to 300 training and 100 test images, so that good argv lists train fast."""
    from nudgenet.data import Dataset, load_dataset, load_mini

    mini = load_mini()
    small = Dataset("mini", mini.train_images[:300], mini.train_labels[:300],
                    mini.test_images[:100], mini.test_labels[:100])  # fmt: skip

    def load(spec, **kwargs):
        if spec in ("mnist", "fashion-mnist"):  # never download in a test
            raise AssertionError(f"would download {spec}")
        return small if spec == "mini" else load_dataset(spec, **kwargs)

    for module in ("train", "model", "pictures", "inside", "note", "experiments"):
        monkeypatch.setattr(f"nudgenet.cli.{module}.load_dataset", load)
    monkeypatch.setattr("nudgenet.training.sweep.load_dataset", load)
    monkeypatch.setattr("nudgenet.lessons.regimes.load_mini", lambda: small)


@pytest.mark.slow
@pytest.mark.usefixtures("small_data")
@settings(
    max_examples=int(os.environ.get("NUDGENET_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(argv=argv_lists())
def test_random_argv_never_raises(argv: list[str], fx: Path, tmp_path: Path, capsys) -> None:
    """Whatever the flags and values, main returns 0, 1 or 2 and prints no traceback."""
    from nudgenet.training import sweep

    sweep._arrays.cache_clear()
    argv = [a.replace("{fx}", str(fx)) for a in argv]
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
            code = exc.code
    finally:
        os.chdir(cwd)
    _, err = capsys.readouterr()
    event(f"{argv[0]} exit {code}")
    if "warning: the arithmetic" in err:
        event(f"numerical warning: {argv}")
    assert code in (0, 1, 2), (argv, err)
    assert "Traceback" not in err
    if code == 1 and argv[0] != "gradcheck":  # gradcheck's 1 is a failed check, reported
        assert any(line.startswith("error:") for line in err.splitlines()), (argv, err)
        assert sum(line.startswith("help:") for line in err.splitlines()) == 1, (argv, err)

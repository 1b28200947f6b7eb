"""``nudgenet train --resume`` and Ctrl-C: a run stopped is a run that can go on."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from clitools import run

from nudgenet import Model

SRC = Path(__file__).resolve().parents[2] / "src"
# Momentum and a constant schedule: a run of it may be lengthened. Batches of 200 keep the
# reference engine at a fraction of a second per epoch on the embedded 10,000 images.
RUN = ("--schedule", "constant", "--lr", "0.5", "--momentum", "0.5", "--batch-size", "200")


def test_resume_on_the_command_line_is_the_run_straight_through(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, c = (str(tmp_path / name) for name in ("a.npz", "b.npz", "c.npz"))
    assert run(capsys, "train", *RUN, "--epochs", "1", "--out", a)[0] == 0
    code, out, _ = run(capsys, "train", "--resume", a, "--epochs", "2", "--out", b)
    assert code == 0
    assert f"resuming {a} after epoch 1, to 2 epochs" in out
    assert "epoch 2/2" in out
    assert "epoch 1/2" not in out  # the first epoch is not trained again
    assert run(capsys, "train", *RUN, "--epochs", "2", "--out", c)[0] == 0
    resumed, straight = Model.load(b), Model.load(c)
    assert resumed.theta.tobytes() == straight.theta.tobytes()
    assert resumed.settings == straight.settings
    assert len(resumed.history) == 3


@pytest.mark.parametrize(
    ("argv", "error", "help"),
    [
        (("--lr", "0.1"), "--lr 0.1 contradicts the run's 0.5", "leave --lr out when resuming"),
        (
            ("--sizes", "784,10,10", "--data", "fashion-mnist"),
            "--data fashion-mnist contradicts the run's mini; --sizes 784,10,10",
            "leave --data, --sizes out",
        ),
        (("--epochs", "1"), "no more than the 1 epochs already done", "give --epochs above 1"),
        (("--snapshots", "--epochs", "3"), "kept no θ snapshots", "leave --snapshots out"),
    ],
)
def test_a_resume_that_contradicts_the_run_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: tuple, error: str, help: str
) -> None:
    a = str(tmp_path / "a.npz")
    assert run(capsys, "train", *RUN, "--epochs", "1", "--out", a)[0] == 0
    code, _, err = run(capsys, "train", "--resume", a, *argv, "--out", str(tmp_path / "b.npz"))
    assert code == 1
    lines = err.strip().splitlines()
    assert lines[-2].startswith("error: ")
    assert error in lines[-2]
    assert lines[-1].startswith("help: ")
    assert help in lines[-1]
    assert not (tmp_path / "b.npz").exists()


def test_the_same_flags_as_the_run_are_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = str(tmp_path / "a.npz"), str(tmp_path / "b.npz")
    assert run(capsys, "train", *RUN, "--epochs", "1", "--out", a)[0] == 0
    code, _, err = run(capsys, "train", "--resume", a, *RUN, "--epochs", "2", "--out", b)
    assert code == 0, err


def test_an_older_model_file_is_read_but_not_resumed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file without the checkpoint (as earlier versions wrote): evaluate, predict, info."""
    a = tmp_path / "a.npz"
    assert run(capsys, "train", *RUN, "--epochs", "1", "--out", str(a))[0] == 0
    model = Model.load(a)
    meta = model.describe()
    del meta["checkpoint"]
    old = tmp_path / "old.npz"
    np.savez(old, theta=model.theta, meta=np.array(json.dumps(meta)))
    for command in ("info", "evaluate"):
        code, _, err = run(capsys, command, str(old))
        assert code == 0, err
    image = Path(__file__).resolve().parents[2] / "docs" / "images" / "descend.png"
    assert run(capsys, "predict", str(old), str(image))[0] == 0
    code, _, err = run(capsys, "train", "--resume", str(old), "--epochs", "2")
    assert code == 1
    assert "cannot be resumed: it holds no checkpoint" in err
    assert "help: train it again with `nudgenet train`" in err


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
def test_ctrl_c_saves_the_last_whole_epoch_and_says_how_to_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real process, a real SIGINT: the model after the last completed epoch is saved,
    and the command it prints resumes it to the very θ of a run straight through."""
    out = tmp_path / "run.npz"
    env = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONUNBUFFERED": "1"}
    argv = [sys.executable, "-m", "nudgenet", "train", *RUN, "--engine", "reference",
            "--epochs", "1000", "--out", str(out)]  # fmt: skip
    # Ctrl+C's SIGINT as a terminal delivers it: a shell's background job (a CI runner's,
    # say) starts its children with SIGINT ignored, and Python then never raises
    # KeyboardInterrupt, so the child gets the default disposition back before it starts.
    process = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=_default_sigint)  # fmt: skip
    try:
        lines = []
        deadline = time.monotonic() + 120
        while not any(line.startswith("epoch    2/1000") for line in lines):
            line = process.stdout.readline()
            assert line, "training ended before epoch 2"
            assert time.monotonic() < deadline, "training did not reach epoch 2"
            lines.append(line)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, err
    saved = Model.load(out)
    done = saved.checkpoint.epoch
    assert 2 <= done < 1000
    assert [r["epoch"] for r in saved.history] == list(range(done + 1))
    assert f"interrupted: the run as of epoch {done}/1000 is saved to {out}" in err
    command = err.strip().splitlines()[-1].removeprefix("resume it with: ")
    assert command == f"nudgenet train --resume {out} --epochs 1000 --out {out}"
    assert not list(tmp_path.glob(".*nudgenet-tmp"))  # saved whole, no temporary left

    # The printed command, one epoch further (a constant schedule may be lengthened), and
    # the run straight through, each in a process of its own as a user runs them: NumPy's
    # products round by their BLAS thread count, which a test process may have changed.
    words = shlex.split(command)[1:]
    words[words.index("--epochs") + 1] = str(done + 1)
    words[words.index("--out") + 1] = str(tmp_path / "more.npz")
    straight = tmp_path / "straight.npz"
    for args in (words, ["train", *RUN, "--engine", "reference", "--epochs", str(done + 1),
                         "--out", str(straight)]):  # fmt: skip
        subprocess.run([sys.executable, "-m", "nudgenet", *args], cwd=tmp_path, env=env,
                       check=True, capture_output=True, timeout=300)  # fmt: skip
    assert Model.load(tmp_path / "more.npz").theta.tobytes() == Model.load(straight).theta.tobytes()

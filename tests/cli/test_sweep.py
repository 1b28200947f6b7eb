"""``nudgenet sweep`` on the command line: files, JSON, resume, errors."""

from __future__ import annotations

import json

import pytest

from nudgenet.cli import main

BASE = ["sweep", "--sizes", "784,8,10", "--limit", "200", "--epochs", "1", "--dtype", "float64"]


def test_sweep_writes_table_and_figure(tmp_path, capsys):
    out = tmp_path / "s"
    code = main([*BASE, "--lr-range", "0.1:10:3", "--seeds", "0-1", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "trained 6 of 6 configurations" in text
    assert (out / "results.csv").is_file()
    assert (out / "sweep.png").is_file()
    saved = json.loads((out / "results.json").read_text())
    assert sorted({r["lr"] for r in saved["results"]}) == [0.1, 1.0, 10.0]


def test_resume_from_the_command_line(tmp_path, capsys):
    out = str(tmp_path / "s")
    assert main([*BASE, "--lr", "0.5", "--seeds", "0,1", "--out", out]) == 0
    capsys.readouterr()
    args = [*BASE, "--lr", "0.5,2", "--seeds", "0,1", "--schedules", "constant,cosine",
            "--out", out, "--json"]  # fmt: skip
    assert main(args) == 1  # results exist: refuse to overwrite without --resume
    assert "--resume" in capsys.readouterr().err
    assert main([*args, "--resume"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["configs"] == 8
    assert len(report["ran"]) == 6
    assert (
        "lr=0.5,seed=0,schedule=constant,init=xavier,batch=10,momentum=0,l2=0" not in report["ran"]
    )
    assert len(report["table"]) == 8


def test_bad_lr_range_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main([*BASE, "--lr-range", "1:2"])
    assert exc.value.code == 2
    assert "LOW:HIGH:COUNT" in capsys.readouterr().err


def test_device_torch_cpu_gives_the_table_of_nudgenets_engines(tmp_path, capsys):
    """--device torch-cpu trains on the PyTorch back end: the same table, to rounding."""
    pytest.importorskip("torch")
    tables = {}
    for device in ("cpu", "torch-cpu"):
        out = str(tmp_path / device)
        argv = [*BASE, "--lr", "0.5,3", "--seeds", "0,1", "--momentum", "0.5"]
        assert main([*argv, "--device", device, "--out", out, "--json"]) == 0
        tables[device] = {r["key"]: r for r in json.loads(capsys.readouterr().out)["table"]}
        saved = json.loads((tmp_path / device / "results.json").read_text())
        assert saved["runs"][-1]["device"] == device
    assert tables["cpu"].keys() == tables["torch-cpu"].keys()
    for key, row in tables["cpu"].items():
        other = tables["torch-cpu"][key]
        assert other["final_test_accuracy"] == row["final_test_accuracy"]
        assert other["final_train_cost"] == pytest.approx(row["final_train_cost"], rel=1e-9)


def test_device_cuda_without_a_gpu_is_one_error_line(tmp_path, capsys, monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main([*BASE, "--device", "cuda", "--out", str(tmp_path / "s")]) == 1
    err = capsys.readouterr().err
    assert "error: --device cuda cannot run: PyTorch finds no CUDA GPU" in err
    assert "help: use --device cpu" in err


def test_validation_and_augment_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "s"
    args = [*BASE, "--lr", "1", "--seeds", "0,1", "--validation", "1000", "--augment", "affine",
            "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    assert "best final validation accuracy" in capsys.readouterr().out
    spec = json.loads((out / "results.json").read_text())["spec"]
    assert (spec["augment"], spec["validation"]) == ("affine", 1000)
    assert main([*BASE, "--validation", "10000", "--out", str(tmp_path / "t")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("error: cannot hold out 10,000 of the 10,000 training images")
    assert err[1].startswith("help: hold out between 1 and 9,999")

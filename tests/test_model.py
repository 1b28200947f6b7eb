"""Tests for nudgenet.model: θ and its description in one .npz, written atomically, read safely."""

from __future__ import annotations

import contextlib
import gc
import io
import json
import tempfile
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from bombs import deflate_zeros, deflated, npy_header, npy_member, write_zip
from clitools import run
from hypothesis import event, given, settings
from hypothesis import strategies as st

import nudgenet.model
from nudgenet import Model, ModelFileError, Network, ShapeError, init_params
from nudgenet.activations import ACTIVATIONS, OUTPUTS
from nudgenet.cli import main as cli_main
from nudgenet.cost import COSTS
from nudgenet.model import FORMAT, FORMAT_VERSION


def make_model(dtype: str = "float64", **kw) -> Model:
    network = kw.pop("network", Network((4, 3, 2), "tanh", "softmax"))
    theta = init_params(network.layout, rng=np.random.default_rng(0), dtype=dtype)
    return Model(network, theta, **kw)


def description(model: Model, **changes) -> dict:
    meta = model.describe()
    meta.update(changes)
    return meta


def write_npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def write_meta(path: Path, meta: dict, theta: np.ndarray) -> Path:
    return write_npz(path, theta=theta, meta=np.array(json.dumps(meta)))


def expect_load_error(path: Path, match: str) -> str:
    """Model.load(path) raises ModelFileError matching ``match`` and leaves no file open."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ModelFileError, match=match) as info:
            Model.load(path)
        message = str(info.value)
        del info  # the traceback holds np.load's frame, and with it any file it opened
        gc.collect()
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert not leaks, f"Model.load left the file open after failing: {leaks}"
    return message


# ---------------------------------------------------------------------------------------------
# round trip


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip(tmp_path: Path, dtype: str) -> None:
    history = [
        {"epoch": 1, "train_cost": 0.5, "test_accuracy": None},
        {"epoch": 2, "train_cost": 0.25, "test_accuracy": 0.9},
    ]
    settings = {"init": "normal", "seed": 3, "lr": 0.1, "batch_size": 10}
    model = make_model(dtype, cost="cross-entropy", settings=settings, history=history)
    path = model.save(tmp_path / "m.npz")
    assert path == tmp_path / "m.npz"
    loaded = Model.load(path)
    assert loaded.theta.dtype == np.dtype(dtype)
    assert loaded.theta.tobytes() == model.theta.tobytes()
    assert loaded.network == model.network
    assert loaded.cost == "cross-entropy"
    assert loaded.settings == settings
    assert loaded.history == history
    X = np.random.default_rng(1).uniform(size=(5, 4))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.probabilities(X), model.probabilities(X))


def test_round_trip_of_the_seed_network(tmp_path: Path) -> None:
    network = Network()
    model = Model(network, init_params(network.layout, rng=np.random.default_rng(0)))
    loaded = Model.load(model.save(tmp_path / "seed.npz"))
    assert loaded.n_params == 13002
    assert loaded.network.sizes == (784, 16, 16, 10)
    assert np.array_equal(loaded.theta, model.theta)


def test_saved_file_is_a_plain_npz(tmp_path: Path) -> None:
    model = make_model()
    model.save(tmp_path / "m.npz")
    with zipfile.ZipFile(tmp_path / "m.npz") as z:
        assert sorted(z.namelist()) == ["meta.npy", "theta.npy"]
    with np.load(tmp_path / "m.npz", allow_pickle=False) as archive:
        meta = json.loads(str(archive["meta"]))
    assert meta["format"] == FORMAT == "nudgenet-model"
    assert meta["format_version"] == FORMAT_VERSION == 1
    assert meta["num_params"] == model.n_params
    assert meta["sizes"] == [4, 3, 2]
    assert meta["activation"] == "tanh"
    assert meta["output"] == "softmax"
    assert meta["dtype"] == "float64"


def test_save_accepts_str_paths_and_overwrites(tmp_path: Path) -> None:
    path = str(tmp_path / "m.npz")
    make_model().save(path)
    second = make_model("float32")
    second.save(path)
    assert Model.load(path).theta.dtype == np.float32


def test_save_to_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    make_model().save("here.npz")
    assert (tmp_path / "here.npz").is_file()
    assert Model.load("here.npz").n_params == make_model().n_params


def test_model_checks_theta_length() -> None:
    network = Network((4, 3, 2))
    with pytest.raises(ShapeError):
        Model(network, np.zeros(network.n_params + 1))


# ---------------------------------------------------------------------------------------------
# atomic writes


def test_no_temporary_files_left(tmp_path: Path) -> None:
    make_model().save(tmp_path / "m.npz")
    make_model().save(tmp_path / "m.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_missing_folder(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "m.npz"
    with pytest.raises(ModelFileError, match="does not exist") as info:
        make_model().save(target)
    assert "help: create the folder first" in str(info.value)
    assert not (tmp_path / "no").exists()


def test_failed_json_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    good = make_model()
    good.save(path)
    old_bytes = path.read_bytes()
    bad = make_model(settings={"callback": object()})  # not JSON-serialisable
    with pytest.raises(TypeError):
        bad.save(path)
    assert path.read_bytes() == old_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
    assert np.array_equal(Model.load(path).theta, good.theta)


def test_crash_while_writing_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m.npz"
    good = make_model()
    good.save(path)
    old_bytes = path.read_bytes()

    def half_written(file, **arrays):
        file.write(b"PK\x03\x04 partial")  # as if the disk filled up mid-write
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(nudgenet.model.np, "savez", half_written)
    with pytest.raises(OSError, match="No space left"):
        make_model("float32").save(path)
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]  # temp file removed
    assert Model.load(path).theta.dtype == np.float64


def test_interrupt_while_writing_removes_the_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(file, **arrays):
        raise KeyboardInterrupt

    monkeypatch.setattr(nudgenet.model.np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        make_model().save(tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# reading files that are not good models


def test_no_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="no model file at") as info:
        Model.load(tmp_path / "absent.npz")
    assert "nudgenet train --out" in str(info.value)


def test_a_folder_is_not_a_model(tmp_path: Path) -> None:
    expect_load_error(tmp_path, "no model file at")


@pytest.mark.parametrize("content", [b"hello, I am not a zip", b"", b"\x93NUMPY garbage"])
def test_non_zip_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "m.npz"
    path.write_bytes(content)
    message = expect_load_error(path, "is not a readable nudgenet model file")
    assert "help: it may be truncated" in message


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9, 0.99])
def test_truncated_file(tmp_path: Path, keep: float) -> None:
    path = make_model().save(tmp_path / "m.npz")
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    expect_load_error(path, "not a readable nudgenet model file")


def test_corrupted_theta_bytes(tmp_path: Path) -> None:
    path = make_model().save(tmp_path / "m.npz")
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        info = z.getinfo("theta.npy")
    # flip a byte inside the stored theta.npy data: the zip's CRC-32 must catch it
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 200
    data[start] ^= 0xFF
    path.write_bytes(bytes(data))
    expect_load_error(path, "not a readable nudgenet model file")


def test_npz_without_the_keys(tmp_path: Path) -> None:
    path = write_npz(tmp_path / "m.npz", weights=np.zeros(3))
    expect_load_error(path, "not a nudgenet model: it lacks meta, theta")
    path = write_npz(tmp_path / "m2.npz", theta=np.zeros(3))
    assert "it lacks meta\n" in expect_load_error(path, "it lacks meta")


@pytest.mark.parametrize("key", ["theta", "meta"])
def test_pickled_object_array_is_not_loaded(tmp_path: Path, key: str) -> None:
    model = make_model()
    marker = tmp_path / "unpickled.txt"

    class Payload:
        """Unpickling this would create ``marker``: code running on load."""

        def __reduce__(self):
            return (Path.touch, (marker,))

    arrays = {"theta": model.theta, "meta": np.array(json.dumps(model.describe()))}
    arrays[key] = np.array([Payload(), 1.0], dtype=object)
    path = write_npz(tmp_path / "m.npz", **arrays)
    message = expect_load_error(path, "not a readable nudgenet model file")
    assert "allow_pickle" in message or "pickled" in message.lower()
    assert not marker.exists()


def test_npy_file_is_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    with path.open("wb") as f:
        np.save(f, np.zeros(3))
    expect_load_error(path, "not a readable nudgenet model file|not a nudgenet model")


def test_meta_is_not_json(tmp_path: Path) -> None:
    path = write_npz(tmp_path / "m.npz", theta=make_model().theta, meta=np.array("{not json"))
    expect_load_error(path, "its description is not valid JSON")


@pytest.mark.parametrize(
    "meta_text", ['["a", "list"]', '{"format": "keras-model"}', '"nudgenet-model"', "{}"]
)
def test_wrong_format_name(tmp_path: Path, meta_text: str) -> None:
    path = write_npz(tmp_path / "m.npz", theta=make_model().theta, meta=np.array(meta_text))
    expect_load_error(path, "is not a nudgenet model \\(no format 'nudgenet-model'\\)")


@pytest.mark.parametrize("version", [2, 99, "1", None, 1.0])
def test_future_or_odd_format_version(tmp_path: Path, version: object) -> None:
    model = make_model()
    path = write_meta(tmp_path / "m.npz", description(model, format_version=version), model.theta)
    message = expect_load_error(
        path, rf"model format version {version!r}; this nudgenet reads up to 1"
    )
    assert "upgrade nudgenet" in message


def test_missing_description_fields(tmp_path: Path) -> None:
    model = make_model()
    meta = description(model)
    del meta["activation"], meta["cost"]
    path = write_meta(tmp_path / "m.npz", meta, model.theta)
    expect_load_error(path, "the description lacks activation, cost")


@pytest.mark.parametrize(
    "changes",
    [
        {"sizes": [4, 0, 2]},
        {"sizes": [4]},
        {"sizes": [4, 2.5, 2]},
        {"activation": "swish"},
        {"output": "relu"},
    ],
)
def test_invalid_architecture(tmp_path: Path, changes: dict) -> None:
    model = make_model()
    path = write_meta(tmp_path / "m.npz", description(model, **changes), model.theta)
    expect_load_error(path, "invalid architecture")


@pytest.mark.parametrize("sizes", [5, None, "4,3,2", ["4", "three", "2"], [4, None, 2], {"a": 1}])
def test_malformed_sizes_are_a_model_file_error(tmp_path: Path, sizes: object) -> None:
    """A description whose "sizes" is not a list of integers is a bad file, not a crash.

    Model.load promises "anything else raises ModelFileError"; these must not leak the
    TypeError/ValueError that tuple(...) and int(...) raise inside Layout.
    """
    model = make_model()
    path = write_meta(tmp_path / "m.npz", description(model, sizes=sizes), model.theta)
    expect_load_error(path, "invalid architecture|sizes")


@pytest.mark.parametrize("n", [0, 1, 20, 24, 1000])
def test_theta_of_the_wrong_length(tmp_path: Path, n: int) -> None:
    model = make_model()  # needs 4·3 + 3 + 3·2 + 2 = 23
    path = write_meta(tmp_path / "m.npz", model.describe(), np.zeros(n))
    expect_load_error(path, rf"θ has shape \({n},\).*need 23 floats")


@pytest.mark.parametrize(
    "theta",
    [
        np.zeros((23, 1)),
        np.zeros(23, dtype=np.int64),
        np.zeros(23, dtype=np.complex128),
        np.array("x" * 23),
    ],
    ids=["2d", "int", "complex", "string"],
)
def test_theta_of_the_wrong_kind(tmp_path: Path, theta: np.ndarray) -> None:
    model = make_model()
    path = write_meta(tmp_path / "m.npz", model.describe(), theta)
    expect_load_error(path, "need 23 floats")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_theta(tmp_path: Path, bad: float) -> None:
    model = make_model()
    theta = model.theta.copy()
    theta[5] = bad
    path = write_meta(tmp_path / "m.npz", model.describe(), theta)
    expect_load_error(path, "θ contains NaN or infinite values")


def test_errors_name_the_file(tmp_path: Path) -> None:
    path = write_npz(tmp_path / "named-model.npz", weights=np.zeros(3))
    expect_load_error(path, "named-model.npz")


# ---------------------------------------------------------------------------------------------
# the right keys with the wrong values: a clean ModelFileError, in the library and the CLI


def _record(**changes: object) -> dict:
    return {"epoch": 1, "train_cost": 0.5, "test_cost": 0.4, "test_accuracy": 0.9, **changes}


BAD_DESCRIPTIONS = {
    "settings a list": ({"settings": ["lr", 0.1]}, "settings must be a JSON object"),
    "settings a string": ({"settings": "lr=0.1"}, "settings must be a JSON object"),
    "data a list": ({"settings": {"data": ["mini"]}}, "setting 'data' must be str or null"),
    "data an object": ({"settings": {"data": {"a": 1}}}, "setting 'data' must be str or null"),
    "epochs a string": ({"settings": {"epochs": "10"}}, "setting 'epochs' must be int"),
    "batch size a float": ({"settings": {"batch_size": 1.5}}, "setting 'batch_size' must be int"),
    "lr a bool": ({"settings": {"lr": True}}, "setting 'lr' must be int or float"),
    "schedule a number": ({"settings": {"schedule": 3}}, "setting 'schedule' must be str"),
    "history an object": ({"history": {"epoch": 1}}, "history must be a list"),
    "history a string": ({"history": "none"}, "history must be a list"),
    "record a number": ({"history": [1]}, "history record 0 must be a JSON object"),
    "record without epoch": ({"history": [{"train_cost": 0.5}]}, "must have an epoch number"),
    "epoch a string": ({"history": [_record(epoch="1")]}, "must have an epoch number"),
    "epoch negative": ({"history": [_record(epoch=-1)]}, "must have an epoch number"),
    "epoch a bool": ({"history": [_record(epoch=True)]}, "must have an epoch number"),
    "cost missing": ({"history": [{"epoch": 0}]}, "must have a train_cost number"),
    "cost a string": ({"history": [_record(train_cost="0.5")]}, "train_cost number"),
    "test cost a list": ({"history": [_record(test_cost=[1])]}, "test_cost must be a number"),
    "accuracy above 1": ({"history": [_record(test_accuracy=2)]}, r"must be in \[0, 1\]"),
    "second record bad": ({"history": [_record(), _record(epoch=None)]}, "history record 1"),
    "activation a list": ({"activation": ["tanh"]}, "activation must be a name"),
    "output a number": ({"output": 5}, "output must be a name"),
    "cost an object": ({"cost": {"name": "quadratic"}}, "cost must be a name"),
    "cost unknown": ({"cost": "hinge"}, "unknown cost 'hinge'"),
    "version a bool": ({"format_version": True}, "model format version True"),
    "layer too wide": ({"sizes": [4, 10_000_000, 2]}, "invalid architecture.*limit of 10,000"),
    "too many params": ({"sizes": [4, 9000, 9000, 2]}, "invalid architecture.*limit of 50,000,000"),
}

# Non-finite numbers cannot be written as JSON values, so these are given as JSON text.
BAD_JSON = {
    "NaN in the history": ('"train_cost": 0.5', '"train_cost": NaN', "NaN is not a JSON number"),
    "Infinity in the settings": ('"lr": 0.1', '"lr": Infinity', "Infinity is not a JSON number"),
    "1e999 in the history": ('"train_cost": 0.5', '"train_cost": 1e999', "too large to be finite"),
    "deeply nested": ('"settings": {', '"settings": {"x": ' + "[" * 100_000, "not valid JSON"),
}


def _bad_model(tmp_path: Path, case: str) -> Path:
    model = make_model(settings={"lr": 0.1, "data": "mini"}, history=[_record(train_cost=0.5)])
    path = tmp_path / "bad.npz"
    if case in BAD_DESCRIPTIONS:
        return write_meta(path, description(model, **BAD_DESCRIPTIONS[case][0]), model.theta)
    old, new, _ = BAD_JSON[case]
    text = json.dumps(model.describe())
    assert old in text
    return write_npz(path, theta=model.theta, meta=np.array(text.replace(old, new, 1)))


@pytest.mark.parametrize("case", [*BAD_DESCRIPTIONS, *BAD_JSON])
def test_wrong_values_are_a_model_file_error(tmp_path: Path, case: str) -> None:
    path = _bad_model(tmp_path, case)
    match = BAD_DESCRIPTIONS[case][1] if case in BAD_DESCRIPTIONS else BAD_JSON[case][2]
    message = expect_load_error(path, match)
    assert "\nhelp: " in message


@pytest.mark.parametrize("command", [("info", "--json"), ("info",), ("evaluate",)])
@pytest.mark.parametrize("case", [*BAD_DESCRIPTIONS, *BAD_JSON])
def test_the_cli_reports_wrong_values_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, command: tuple[str, ...]
) -> None:
    path = _bad_model(tmp_path, case)
    code, out, err = run(capsys, *command, str(path))
    assert (code, out) == (1, "")
    lines = err.splitlines()
    assert lines[0].startswith(f"error: {path}")
    assert lines[1].startswith("help: ")
    assert len(lines) == 2


def test_a_valid_history_and_settings_still_load(tmp_path: Path) -> None:
    history = [
        {"epoch": 0, "steps": 0, "learning_rate": 0.1, "train_cost": 1.0, "train_accuracy": 0.1,
         "test_cost": None, "test_accuracy": None, "seconds": 0.0},
        _record(note="any other key is kept", tags=["a", 1]),
    ]  # fmt: skip
    settings = {"epochs": 1, "lr": 1, "data": None, "extra": {"nested": [1, 2.5, None]}}
    path = make_model(settings=settings, history=history).save(tmp_path / "m.npz")
    loaded = Model.load(path)
    assert loaded.history == history
    assert loaded.settings == settings


# ---------------------------------------------------------------------------------------------
# array headers and zip entries are checked before anything is allocated


def _arrays(model: Model, **changes: object) -> dict[str, object]:
    arrays: dict[str, object] = {
        "theta": model.theta,
        "meta": np.array(json.dumps(model.describe())),
    }
    arrays.update(changes)
    return {k: v for k, v in arrays.items() if v is not None}


def _zip_of(path: Path, members: dict[str, object]) -> Path:
    """A zip of .npy members: arrays as np.save writes them, or ready (stream, crc, size,
    method) tuples."""
    return write_zip(
        path,
        {
            f"{k}.npy": v if isinstance(v, tuple) else npy_member(np.asanyarray(v))
            for k, v in members.items()
        },
    )


N_PARAMS = 23  # make_model()'s 4-3-2 network

BAD_ARRAYS = {
    "theta float16": ({"theta": np.zeros(N_PARAMS, np.float16)}, "need 23 floats"),
    "theta claims 10^12": (
        {"theta": deflated(npy_header("<f8", (10**12,)))},
        r"θ has shape \(1000000000000,\)",
    ),
    "theta negative shape": ({"theta": deflated(npy_header("<f8", (-5,)))}, "negative shape"),
    "meta bytes": ({"meta": np.array(b'{"format": "nudgenet-model"}')}, "expected one string"),
    "meta a list": ({"meta": np.array(["{}"])}, "expected one string"),
    "meta a number": ({"meta": np.array(3.0)}, "expected one string"),
    "meta claims 10^8 chars": (
        {"meta": deflated(npy_header("<U100000000", ()))},
        "at most 16,777,216 characters",
    ),
    "step costs 2-D": ({"step_costs": np.zeros((2, 2))}, "step_costs has shape"),
    "step costs integers": ({"step_costs": np.zeros(3, np.int64)}, "step_costs has shape"),
    "step costs claim 10^12": (
        {"step_costs": deflated(npy_header("<f8", (10**12,)))},
        "at most 16,777,216 floats",
    ),
    "step costs NaN": ({"step_costs": np.array([1.0, np.nan])}, "step_costs contains NaN"),
    "snapshots of another θ": (
        {"snapshots": np.zeros((3, 5))},
        r"expected floats of shape \(k, 23\)",
    ),
    "snapshots 1-D": ({"snapshots": np.zeros(N_PARAMS)}, "snapshots has shape"),
    "snapshots claim 10^9 rows": (
        {"snapshots": deflated(npy_header("<f8", (10**9, N_PARAMS)))},
        "at most 134,217,728 values",
    ),
    "snapshots inf": ({"snapshots": np.full((2, N_PARAMS), np.inf)}, "snapshots contains NaN"),
    "pickled step costs": ({"step_costs": np.array([None], dtype=object)}, "pickled"),
}


@pytest.mark.parametrize("case", list(BAD_ARRAYS))
def test_bad_array_headers_are_refused(tmp_path: Path, case: str) -> None:
    changes, match = BAD_ARRAYS[case]
    path = _zip_of(tmp_path / "m.npz", _arrays(make_model(), **changes))
    assert "\nhelp: " in expect_load_error(path, match)


def test_entry_size_must_match_its_header(tmp_path: Path) -> None:
    """A zip entry declaring more bytes than its .npy header needs is refused unread."""
    model = make_model()
    stream, crc, size = deflate_zeros(npy_header("<f8", (N_PARAMS,)), 1024)  # 1 GiB more
    path = _zip_of(tmp_path / "m.npz", _arrays(model, theta=(stream, crc, size, 8)))
    expect_load_error(path, r"theta.npy declares 1,073,741,\d+ bytes in the archive")


def test_a_stream_longer_than_its_entry_is_not_unpacked(tmp_path: Path) -> None:
    """zipfile stops at the declared size: a deflate stream holding 1 GiB more than its
    entry declares costs nothing, and what was declared loads."""
    theta = np.zeros(N_PARAMS)
    head = npy_header("<f8", (N_PARAMS,)) + theta.tobytes()
    stream, _, _ = deflate_zeros(head, 1024)
    member = (stream, zlib.crc32(head), len(head), 8)
    path = _zip_of(tmp_path / "m.npz", _arrays(make_model(), theta=member))
    np.testing.assert_array_equal(Model.load(path).theta, theta)


def test_npy_format_version_3_is_refused(tmp_path: Path) -> None:
    header = bytearray(npy_header("<f8", (N_PARAMS,)))
    header[6:8] = b"\x03\x00"
    member = deflated(bytes(header) + bytes(8 * N_PARAMS))
    path = _zip_of(tmp_path / "m.npz", _arrays(make_model(), theta=member))
    expect_load_error(path, r"format version \(3, 0\)")


def test_other_byte_orders_and_layouts_load(tmp_path: Path) -> None:
    """A big-endian θ and Fortran-ordered snapshots are valid .npy files: they load, native."""
    model = make_model()
    snapshots = np.asfortranarray(np.random.default_rng(0).normal(size=(3, N_PARAMS)))
    arrays = _arrays(model, theta=model.theta.astype(">f8"), snapshots=snapshots,
                     step_costs=np.array([3.0, 2.0, 1.0], dtype=">f4"))  # fmt: skip
    loaded = Model.load(_zip_of(tmp_path / "m.npz", arrays))
    assert loaded.theta.dtype == np.float64
    assert loaded.theta.dtype.isnative
    np.testing.assert_array_equal(loaded.theta, model.theta)
    np.testing.assert_array_equal(loaded.snapshots, snapshots)
    np.testing.assert_array_equal(loaded.step_costs, [3.0, 2.0, 1.0])


def test_stored_entries_and_extra_entries(tmp_path: Path) -> None:
    """An uncompressed entry loads as a deflated one does; unknown entries are ignored."""
    model = make_model()
    buf = io.BytesIO()
    np.save(buf, model.theta)
    data = buf.getvalue()
    arrays = _arrays(model, theta=(data, zlib.crc32(data), len(data), 0), other=np.zeros(3))
    np.testing.assert_array_equal(
        Model.load(_zip_of(tmp_path / "m.npz", arrays)).theta, model.theta
    )


def test_unreadable_model_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_model().save(tmp_path / "m.npz")

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("builtins.open", denied)
    message = expect_load_error(path, "cannot read the model .*Permission denied")
    assert "help: check the permissions" in message


# ---------------------------------------------------------------------------------------------
# fuzzing: whatever the file holds, a Model or a ModelFileError


_json_scalars = (
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8)
)
json_values = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_KEYS = ("format", "format_version", "sizes", "activation", "output", "cost", "settings",
         "history")  # fmt: skip
_RECORD_KEYS = ("epoch", "train_cost", "steps", "test_cost", "test_accuracy", "train_accuracy")


_finite = st.floats(-1e6, 1e6, allow_nan=False)
_unit = st.floats(0, 1) | st.none()
_records = st.fixed_dictionaries(
    {"epoch": st.integers(0, 100), "train_cost": _finite},
    optional={"steps": st.integers(0, 10**6), "learning_rate": _finite, "test_cost": _finite,
              "train_accuracy": _unit, "test_accuracy": _unit, "seconds": _finite},
)  # fmt: skip
_settings = st.fixed_dictionaries(
    {},
    optional={"epochs": st.integers(1, 100), "batch_size": st.integers(0, 100),
              "seed": st.integers(0, 2**32 - 1), "lr": _finite, "schedule": st.text(max_size=8),
              "data": st.text(max_size=8) | st.none(), "other": st.text(max_size=8)},
)  # fmt: skip


@st.composite
def valid_models(draw: st.DrawFn) -> Model:
    """A random valid model: a small network, θ of either dtype, settings, history and the
    optional arrays."""
    network = Network(
        tuple(draw(st.lists(st.integers(1, 5), min_size=2, max_size=4))),
        draw(st.sampled_from(sorted(ACTIVATIONS))),
        draw(st.sampled_from(sorted(OUTPUTS))),
    )
    dtype = draw(st.sampled_from(["float32", "float64"]))
    theta = init_params(network.layout, rng=np.random.default_rng(draw(st.integers(0, 9))))
    n = network.n_params
    k = draw(st.none() | st.integers(0, 3))
    return Model(
        network,
        theta.astype(dtype),
        draw(st.sampled_from(COSTS)),
        settings=draw(_settings),
        history=draw(st.lists(_records, max_size=3)),
        step_costs=draw(st.none() | st.lists(_finite, max_size=5).map(np.array)),
        snapshots=None if k is None else np.zeros((k, n), dtype=dtype),
    )


def _description(draw: st.DrawFn, meta: dict, where: str) -> dict:
    """``meta`` with one random change for each kind but "none": a top-level field, a
    setting or an epoch record given a random JSON value, a field deleted, or a random value
    appended to the history."""
    if where == "field":
        meta[draw(st.sampled_from(_KEYS))] = draw(json_values)
    elif where == "deleted field":
        del meta[draw(st.sampled_from(_KEYS))]
    elif where == "setting":
        meta["settings"][draw(st.sampled_from([*_SETTING_NAMES, "other"]))] = draw(json_values)
    elif where == "record":
        meta["history"].insert(0, _record())
        meta["history"][0][draw(st.sampled_from(_RECORD_KEYS))] = draw(json_values)
    elif where == "history":
        meta["history"].append(draw(json_values))
    return meta


_SETTING_NAMES = ("epochs", "batch_size", "seed", "lr", "schedule", "data", "dtype")
_ARRAY_DTYPES = ("<f8", ">f8", "<f4", "<f2", "<i8", "|u1", "<c16", "|b1", "<U4", "|S4", "<M8[s]",
                 "O")  # fmt: skip
_REFUSALS = ("pickled", "not a readable", "not a nudgenet model", "lacks", "format version",
             "not valid JSON", "description (meta)", "finite", "setting", "history",
             "invalid architecture", "unknown cost", "θ", "step_costs", "snapshots")  # fmt: skip
_MODEL_FLAWS = (
    "none", "none", "field", "deleted field", "setting", "record", "history", "array",
    "missing array", "extra array", "flipped bytes", "cut short",
)  # fmt: skip


@st.composite
def model_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """The bytes of a model file, valid or with one flaw: a description changed (see
    :func:`_description`), one array of a random dtype and shape, a key missing, an extra
    entry, bytes flipped, or the file cut short."""
    flaw = draw(st.sampled_from(_MODEL_FLAWS))
    model = draw(valid_models())
    meta = _description(draw, model.describe(), flaw)
    members: dict[str, object] = {
        "meta": np.array(json.dumps(meta, allow_nan=True)),
        "theta": model.theta,
        "step_costs": model.step_costs,
        "snapshots": model.snapshots,
    }
    members = {k: v for k, v in members.items() if v is not None}
    if flaw == "array":
        dtype = np.dtype(draw(st.sampled_from(_ARRAY_DTYPES)))
        shape = tuple(draw(st.lists(st.integers(0, 30), max_size=3)))
        members[draw(st.sampled_from(sorted(members)))] = np.zeros(shape, dtype=dtype)
    elif flaw == "missing array":
        del members[draw(st.sampled_from(sorted(members)))]
    elif flaw == "extra array":
        members[draw(st.text(min_size=1, max_size=8))] = draw(st.sampled_from([np.zeros(3), 1.0]))
    buf = io.BytesIO()
    np.savez(buf, **members)  # object arrays are pickled by np.savez: never by the loader
    blob = bytearray(buf.getvalue())
    if flaw == "flipped bytes":
        for i in draw(st.lists(st.integers(0, len(blob) - 1), min_size=1, max_size=4)):
            blob[i] ^= draw(st.integers(1, 255))
    elif flaw == "cut short":
        del blob[draw(st.integers(0, len(blob) - 1)) :]
    event(f"flaw: {flaw}")
    return flaw, bytes(blob)


@settings(max_examples=300, deadline=None, database=None)
@given(case=model_files())
def test_fuzzed_model_files_load_or_raise_model_file_error(case: tuple[str, bytes]) -> None:
    """Any file loads or is a ModelFileError with a help line; a valid one loads, and what
    loads, ``nudgenet info`` prints (``--hypothesis-show-statistics`` counts outcomes)."""
    flaw, blob = case
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.npz"
        path.write_bytes(blob)
        try:
            model = Model.load(path)
        except ModelFileError as exc:
            error: ModelFileError | None = exc
        else:
            error = None
        if error is not None:
            assert flaw != "none", f"a valid model was refused: {error}"
            assert error.help
            event("refused: " + next((k for k in _REFUSALS if k in error.message), "other"))
            return
        event("loaded")
        assert model.theta.shape == (model.n_params,)
        assert np.isfinite(model.theta).all()
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            assert cli_main(["info", str(path)]) == 0
            assert cli_main(["info", "--json", str(path)]) == 0

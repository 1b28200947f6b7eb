"""Tests for nudgenet.model: θ and its description in one .npz, written atomically, read safely."""

from __future__ import annotations

import gc
import io
import json
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

import nudgenet.model
from nudgenet import Model, ModelFileError, Network, ShapeError, init_params
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

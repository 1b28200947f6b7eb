"""Tests of nudgenet.data on real files: IDX files and folders written here, the embedded
subset, the full MNIST when present, and downloads from a local HTTP server."""

from __future__ import annotations

import gzip
import hashlib
import re
import socket
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

import numpy as np
import platformdirs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nudgenet.data import datasets as data
from nudgenet.data.datasets import (
    MNIST_FILES,
    Dataset,
    data_home,
    download,
    load_dataset,
    load_folder,
    load_mini,
    read_idx,
    to_inputs,
)
from nudgenet.errors import ConfigError, DataError, DownloadError, ShapeError

_CODES = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}
GZ_FILES = tuple(f"{n}.gz" for n in MNIST_FILES)


# --------------------------------------------------------------------------- helpers


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode an array as an IDX file: magic 00 00 <type> <ndim>, big-endian sizes, body."""
    code = _CODES[array.dtype.str[1:]]
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def small_set(seed: int = 0, n_train: int = 6, n_test: int = 4) -> dict[str, np.ndarray]:
    """Four tiny MNIST-format arrays keyed by the standard file names."""
    rng = np.random.default_rng(seed)
    return {
        MNIST_FILES[0]: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        MNIST_FILES[1]: rng.integers(0, 10, n_train, dtype=np.uint8),
        MNIST_FILES[2]: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        MNIST_FILES[3]: rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def gz_payloads(arrays: dict[str, np.ndarray]) -> dict[str, bytes]:
    """The ``.gz`` file contents a mirror would serve for these arrays."""
    return {f"{k}.gz": gzip.compress(idx_bytes(v), mtime=0) for k, v in arrays.items()}


def write_folder(folder: Path, arrays: dict[str, np.ndarray], names: dict[str, str]) -> Path:
    """Write each array under the file name ``names`` gives it (gzip when it ends in .gz)."""
    folder.mkdir(parents=True, exist_ok=True)
    for key, array in arrays.items():
        name = names.get(key, key)
        raw = idx_bytes(array)
        (folder / name).write_bytes(gzip.compress(raw) if name.endswith(".gz") else raw)
    return folder


def sha256(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


# --------------------------------------------------------------------------- read_idx


@pytest.mark.parametrize("dtype", ["u1", "i1", ">i2", ">i4", ">f4", ">f8"])
@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trips(tmp_path: Path, dtype: str, compress: bool) -> None:
    rng = np.random.default_rng(1)
    array = (rng.standard_normal((3, 4, 5)) * 100).astype(np.dtype(dtype).newbyteorder("="))
    raw = idx_bytes(array)
    path = tmp_path / "a.idx"
    path.write_bytes(gzip.compress(raw) if compress else raw)
    got = read_idx(path)
    assert got.shape == (3, 4, 5)
    assert got.dtype == array.dtype
    assert got.dtype.isnative
    np.testing.assert_array_equal(got, array)
    assert not got.flags.writeable


def test_read_idx_decides_compression_by_content_not_name(tmp_path: Path) -> None:
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    (tmp_path / "raw.gz").write_bytes(idx_bytes(array))
    (tmp_path / "packed-idx2-ubyte").write_bytes(gzip.compress(idx_bytes(array)))
    np.testing.assert_array_equal(read_idx(tmp_path / "raw.gz"), array)
    np.testing.assert_array_equal(read_idx(str(tmp_path / "packed-idx2-ubyte")), array)


@settings(max_examples=30, deadline=None, database=None)
@given(
    shape=st.lists(st.integers(0, 5), min_size=1, max_size=4),
    dtype=st.sampled_from(["u1", "i1", "i2", "i4", "f4", "f8"]),
    compress=st.booleans(),
)
def test_read_idx_round_trips_any_shape(shape: list[int], dtype: str, compress: bool) -> None:
    array = np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)
    raw = idx_bytes(array)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x"
        path.write_bytes(gzip.compress(raw) if compress else raw)
        np.testing.assert_array_equal(read_idx(path), array)


def _valid_labels() -> bytes:
    return idx_bytes(np.array([1, 2, 3], dtype=np.uint8))


_GOOD = _valid_labels()
_GOOD_GZ = gzip.compress(idx_bytes(np.arange(4000, dtype=np.uint8) % 7), mtime=0)
_CORRUPT_GZ = _GOOD_GZ[:20] + bytes(b ^ 0xFF for b in _GOOD_GZ[20:40]) + _GOOD_GZ[40:]

CORRUPTIONS = {
    "empty": (b"", r"is empty \(0 bytes\)"),
    "header under 4 bytes": (b"\x00\x00\x08", r"truncated header.*at least 4 bytes.*got 3"),
    "header missing sizes": (b"\x00\x00\x08\x03" + b"\x00" * 6, r"truncated header.*16-byte"),
    "first bytes not zero": (b"\x12\x34" + _GOOD[2:], r"bad magic number.*00 00.*12 34"),
    "unknown type code": (b"\x00\x00\x07" + _GOOD[3:], r"bad magic number.*unknown type code 0x07"),
    "zero dimensions": (b"\x00\x00\x08\x00", r"bad magic number.*0 dimensions"),
    "body too short": (_GOOD[:-1], r"shorter than the header says.*needs 3 bytes.*got 2"),
    "body too long": (_GOOD + b"\x00\x00", r"longer than the header says.*needs 3 bytes.*got 5"),
    "truncated gzip": (_GOOD_GZ[: len(_GOOD_GZ) // 2], r"corrupt or truncated gzip"),
    "corrupt gzip": (_CORRUPT_GZ, r"corrupt or truncated gzip"),
    "gzip of nothing": (gzip.compress(b""), r"empty after gzip decompression"),
    "gzip of a short body": (gzip.compress(_GOOD[:-1]), r"shorter than the header says"),
}


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_read_idx_rejects_malformed_files(tmp_path: Path, case: str) -> None:
    blob, problem = CORRUPTIONS[case]
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(blob)
    with pytest.raises(DataError, match=problem) as excinfo:
        read_idx(path)
    assert str(path) in str(excinfo.value)
    assert excinfo.value.help


def test_read_idx_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=rf"not found: {re.escape(str(tmp_path / 'nope'))}"):
        read_idx(tmp_path / "nope")
    with pytest.raises(DataError, match="not a regular file"):
        read_idx(tmp_path)


# --------------------------------------------------------------------------- Dataset, load_folder


def test_dataset_validates_its_arrays() -> None:
    arrays = small_set()
    good = dict(
        name="t",
        train_images=arrays[MNIST_FILES[0]],
        train_labels=arrays[MNIST_FILES[1]],
        test_images=arrays[MNIST_FILES[2]],
        test_labels=arrays[MNIST_FILES[3]],
    )
    assert repr(Dataset(**good)) == "Dataset(name='t', train=6, test=4)"
    bad = {
        "train_images": (np.zeros((6, 28, 27), np.uint8), r"shape \(n, 28, 28\)"),
        "test_images": (np.zeros((4, 28, 28), np.float32), "uint8"),
        "train_labels": (np.full(6, 10, np.uint8), "labels 0-9, got 10"),
        "test_labels": (np.zeros(3, np.uint8), "4 images but 3 labels"),
    }
    for field, (value, pattern) in bad.items():
        with pytest.raises(DataError, match=pattern):
            Dataset(**{**good, field: value})
    with pytest.raises(DataError, match="empty"):
        Dataset(
            **{
                **good,
                "test_images": np.zeros((0, 28, 28), np.uint8),
                "test_labels": np.zeros(0, np.uint8),
            }
        )


def test_load_folder_accepts_every_spelling(tmp_path: Path) -> None:
    arrays = small_set()
    names = {
        MNIST_FILES[0]: "train-images-idx3-ubyte.gz",
        MNIST_FILES[1]: "train-labels-idx1-ubyte",
        MNIST_FILES[2]: "t10k-images.idx3-ubyte",
        MNIST_FILES[3]: "t10k-labels.idx1-ubyte.gz",
    }
    folder = write_folder(tmp_path / "digits", arrays, names)
    ds = load_folder(folder)
    assert ds.name == "digits"
    assert load_folder(str(folder), name="other").name == "other"
    np.testing.assert_array_equal(ds.train_images, arrays[MNIST_FILES[0]])
    np.testing.assert_array_equal(ds.train_labels, arrays[MNIST_FILES[1]])
    np.testing.assert_array_equal(ds.test_images, arrays[MNIST_FILES[2]])
    np.testing.assert_array_equal(ds.test_labels, arrays[MNIST_FILES[3]])


def test_load_folder_lists_missing_files(tmp_path: Path) -> None:
    arrays = small_set()
    del arrays[MNIST_FILES[1]], arrays[MNIST_FILES[3]]
    folder = write_folder(tmp_path / "half", arrays, {})
    with pytest.raises(DataError, match="missing 2 of the 4") as excinfo:
        load_folder(folder)
    message = str(excinfo.value)
    assert str(folder) in message
    assert "train-labels-idx1-ubyte.gz" in message
    assert "t10k-labels.idx1-ubyte" in message
    assert "train-images-idx3-ubyte or" not in message
    with pytest.raises(DataError, match="data folder not found"):
        load_folder(tmp_path / "absent")


@pytest.mark.parametrize(
    ("key", "value", "pattern"),
    [
        (MNIST_FILES[0], np.zeros((6, 20, 20), np.uint8), r"shape \(n, 28, 28\)"),
        (MNIST_FILES[0], np.zeros((6, 28, 28), np.int16), "uint8"),
        (MNIST_FILES[1], np.zeros((6, 1), np.uint8), "1-D uint8"),
        (MNIST_FILES[3], np.array([1, 2, 11, 3], np.uint8), "labels 0-9, got 11"),
        (MNIST_FILES[1], np.zeros(5, np.uint8), "6 images but .* 5 labels"),
    ],
)
def test_load_folder_rejects_wrong_format(
    tmp_path: Path, key: str, value: np.ndarray, pattern: str
) -> None:
    arrays = {**small_set(), key: value}
    folder = write_folder(tmp_path / "bad", arrays, {})
    with pytest.raises(DataError, match=pattern) as excinfo:
        load_folder(folder)
    assert str(folder) in str(excinfo.value)


# --------------------------------------------------------------------------- embedded subset


def _mini_npz() -> dict[str, np.ndarray]:
    resource = resources.files("nudgenet").joinpath("data").joinpath("mini.npz")
    with resource.open("rb") as fh, np.load(fh) as npz:
        return {k: npz[k] for k in npz.files}


def test_load_mini() -> None:
    ds = load_mini()
    assert ds.name == "mini"
    assert ds.train_images.shape == (10_000, 28, 28)
    assert ds.test_images.shape == (2_000, 28, 28)
    for array in (ds.train_images, ds.train_labels, ds.test_images, ds.test_labels):
        assert array.dtype == np.uint8
    assert np.bincount(ds.train_labels, minlength=10).tolist() == [1000] * 10
    assert np.bincount(ds.test_labels, minlength=10).tolist() == [200] * 10
    assert ds.train_images.max() == 255
    assert 0.10 < ds.train_images.mean() / 255 < 0.16
    assert load_dataset("mini").train_labels.tolist() == ds.train_labels.tolist()


def test_mini_is_traceable() -> None:
    npz = _mini_npz()
    assert set(npz) == {
        "train_images",
        "train_labels",
        "test_images",
        "test_labels",
        "train_indices",
        "test_indices",
    }
    for split, n_full in (("train", 60_000), ("test", 10_000)):
        idx = npz[f"{split}_indices"]
        assert np.all(np.diff(idx) > 0)
        assert idx[0] >= 0
        assert idx[-1] < n_full


# --------------------------------------------------------------------------- full MNIST


@pytest.fixture(scope="module")
def mnist(mnist_dir: Path) -> Dataset:
    return load_folder(mnist_dir, name="mnist")


@pytest.mark.mnist
def test_full_mnist_quick_facts(mnist: Dataset) -> None:
    assert mnist.train_images.shape == (60_000, 28, 28)
    assert mnist.test_images.shape == (10_000, 28, 28)
    assert mnist.train_labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert mnist.test_labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(mnist.train_labels).tolist() == [
        5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949
    ]  # fmt: skip
    assert np.bincount(mnist.test_labels).tolist() == [
        980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009
    ]  # fmt: skip
    assert mnist.train_images.mean(dtype=np.float64) / 255 == pytest.approx(0.1307, abs=5e-5)


@pytest.mark.mnist
def test_mini_equals_its_images_in_full_mnist(mnist: Dataset) -> None:
    npz = _mini_npz()
    mini = load_mini()
    for split in ("train", "test"):
        idx = npz[f"{split}_indices"]
        full_images = getattr(mnist, f"{split}_images")
        full_labels = getattr(mnist, f"{split}_labels")
        np.testing.assert_array_equal(getattr(mini, f"{split}_images"), full_images[idx])
        np.testing.assert_array_equal(getattr(mini, f"{split}_labels"), full_labels[idx])


@pytest.mark.mnist
def test_checksum_table_matches_canonical_files(mnist_dir: Path) -> None:
    for name in GZ_FILES:
        path = mnist_dir / name
        if not path.is_file():
            pytest.skip(f"{path} is not gzipped; the table holds digests of the .gz files")
        algorithm, expected = data.CHECKSUMS["mnist"][name]
        assert hashlib.new(algorithm, path.read_bytes()).hexdigest() == expected


@pytest.mark.mnist
def test_load_dataset_mnist_from_cache(mnist_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "mnist"
    cache.mkdir()
    for entry in mnist_dir.iterdir():
        if entry.name.startswith(("train-", "t10k-")):
            (cache / entry.name).symlink_to(entry)
    ds = load_dataset("mnist", root=tmp_path, download_missing=False)
    assert ds.name == "mnist"
    assert ds.test_labels[:3].tolist() == [7, 2, 1]


# --------------------------------------------------------------------------- download


class _Server(ThreadingHTTPServer):
    """Serves ``files`` (URL path -> bytes) and records every requested path."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def publish(self, prefix: str, payloads: dict[str, bytes]) -> str:
        for name, blob in payloads.items():
            self.files[f"{prefix}{name}"] = blob
        return self.url + prefix


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        body = self.server.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Server]:
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    httpd = _Server()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def payloads() -> dict[str, bytes]:
    return gz_payloads(small_set(seed=3))


def _sums(payloads: dict[str, bytes]) -> dict[str, str]:
    return {name: sha256(blob) for name, blob in payloads.items()}


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in GZ_FILES)


def test_download_fetches_and_verifies(
    server: _Server, payloads: dict[str, bytes], tmp_path: Path
) -> None:
    mirror = server.publish("/m/", payloads)
    folder = download("mnist", tmp_path, mirrors=[mirror], timeout=5, checksums=_sums(payloads))
    assert folder == tmp_path / "mnist"
    for name, blob in payloads.items():
        assert (folder / name).read_bytes() == blob
    assert _leftovers(folder) == []
    ds = load_folder(folder)
    np.testing.assert_array_equal(ds.train_labels, small_set(seed=3)[MNIST_FILES[1]])


def test_download_falls_through_a_404_mirror(
    server: _Server, payloads: dict[str, bytes], tmp_path: Path
) -> None:
    good = server.publish("/good/", payloads)
    missing = server.url + "/missing"  # no trailing slash: one is added
    download("mnist", tmp_path, mirrors=[missing, good], checksums=_sums(payloads))
    expected = [p for name in GZ_FILES for p in (f"/missing/{name}", f"/good/{name}")]
    assert server.requests == expected


def test_download_falls_through_a_refused_connection(
    server: _Server, payloads: dict[str, bytes], tmp_path: Path
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    good = server.publish("/good/", payloads)
    dead = f"http://127.0.0.1:{closed_port}/"
    folder = download("mnist", tmp_path, mirrors=(dead, good), checksums=_sums(payloads))
    assert sorted(p.name for p in folder.iterdir()) == sorted(GZ_FILES)


def test_download_rejects_a_wrong_checksum_leaving_nothing(
    server: _Server, payloads: dict[str, bytes], tmp_path: Path
) -> None:
    mirror = server.publish("/m/", payloads)
    sums = {**_sums(payloads), "train-labels-idx1-ubyte.gz": "0" * 64}
    with pytest.raises(DownloadError, match="checksum mismatch") as excinfo:
        download("mnist", tmp_path, mirrors=[mirror], checksums=sums)
    message = str(excinfo.value)
    assert f"{mirror}train-labels-idx1-ubyte.gz" in message
    assert "0" * 64 in message
    assert sha256(payloads["train-labels-idx1-ubyte.gz"]) in message
    assert "--data PATH" in message
    folder = tmp_path / "mnist"
    assert not (folder / "train-labels-idx1-ubyte.gz").exists()
    assert _leftovers(folder) == []


def test_download_reports_every_failed_mirror(server: _Server, tmp_path: Path) -> None:
    first, second = server.url + "/a/", server.url + "/b/"
    with pytest.raises(DownloadError, match="could not download train-images") as excinfo:
        download("mnist", tmp_path, mirrors=[first, second])
    message = str(excinfo.value)
    assert f"{first}train-images-idx3-ubyte.gz (HTTP 404" in message
    assert f"{second}train-images-idx3-ubyte.gz (HTTP 404" in message
    assert "help: check the internet connection" in message
    assert _leftovers(tmp_path / "mnist") == []


def test_download_skips_files_already_good(
    server: _Server, payloads: dict[str, bytes], tmp_path: Path
) -> None:
    mirror = server.publish("/m/", payloads)
    sums = _sums(payloads)
    folder = download("mnist", tmp_path, mirrors=[mirror], checksums=sums)
    assert len(server.requests) == 4
    download("mnist", tmp_path, mirrors=[mirror], checksums=sums)
    assert len(server.requests) == 4
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(b"damaged")
    download("mnist", tmp_path, mirrors=[mirror], checksums=sums)
    assert server.requests[4:] == ["/m/t10k-images-idx3-ubyte.gz"]
    assert (folder / "t10k-images-idx3-ubyte.gz").read_bytes() == payloads[
        "t10k-images-idx3-ubyte.gz"
    ]


def test_download_accepts_md5_digests_and_defaults_to_data_home(
    server: _Server, payloads: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUDGENET_DATA", str(tmp_path / "home"))
    mirror = server.publish("/f/", payloads)
    sums = {n: ("MD5", hashlib.md5(b).hexdigest()) for n, b in payloads.items()}
    folder = download("fashion-mnist", mirrors=mirror, checksums=sums)
    assert folder == tmp_path / "home" / "fashion-mnist"
    assert sorted(p.name for p in folder.iterdir()) == sorted(GZ_FILES)


def test_download_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown data set to download: 'cifar'"):
        download("cifar", tmp_path)
    with pytest.raises(ConfigError, match="no mirrors"):
        download("mnist", tmp_path, mirrors=[])
    with pytest.raises(ConfigError, match="unknown algorithm 'sha1'"):
        download("mnist", tmp_path, mirrors=["http://127.0.0.1:9/"], checksums={
            "train-images-idx3-ubyte.gz": ("sha1", "00")
        })  # fmt: skip


def test_data_home_honours_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUDGENET_DATA", str(tmp_path))
    assert data_home() == tmp_path
    monkeypatch.delenv("NUDGENET_DATA")
    assert data_home() == Path(platformdirs.user_cache_dir("nudgenet"))


@pytest.mark.mnist
def test_download_verifies_real_mnist_with_builtin_checksums(
    server: _Server, mnist_dir: Path, tmp_path: Path
) -> None:
    files = {n: (mnist_dir / n).read_bytes() for n in GZ_FILES if (mnist_dir / n).is_file()}
    if len(files) < 4:
        pytest.skip(f"{mnist_dir} does not hold the four .gz files")
    mirror = server.publish("/mnist/", files)
    folder = download("mnist", tmp_path, mirrors=[mirror])
    assert all((folder / n).read_bytes() == blob for n, blob in files.items())


# --------------------------------------------------------------------------- load_dataset


def test_load_dataset_folder_and_unknown(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "mine", small_set(), {})
    assert load_dataset(str(folder)).name == "mine"
    with pytest.raises(DataError, match="unknown data set 'nosuch'") as excinfo:
        load_dataset("nosuch")
    assert "mini, mnist or fashion-mnist" in str(excinfo.value)


def test_load_dataset_without_download(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"'mnist' is not in .*downloading is off"):
        load_dataset("mnist", root=tmp_path, download_missing=False)


def test_load_dataset_prefers_the_system_fashion_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arrays = small_set(seed=5)
    system = write_folder(tmp_path / "system", arrays, {k: f"{k}.gz" for k in arrays})
    monkeypatch.setattr(data, "FASHION_SYSTEM_DIR", system)
    ds = load_dataset("fashion-mnist", root=tmp_path / "cache", download_missing=False)
    assert ds.name == "fashion-mnist"
    np.testing.assert_array_equal(ds.test_labels, arrays[MNIST_FILES[3]])


def test_load_dataset_downloads_when_missing(
    server: _Server, payloads: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(data, "FASHION_SYSTEM_DIR", tmp_path / "not-installed")
    monkeypatch.setitem(data.MIRRORS, "fashion-mnist", (server.publish("/f/", payloads),))
    sums = {n: ("md5", hashlib.md5(b).hexdigest()) for n, b in payloads.items()}
    monkeypatch.setitem(data.CHECKSUMS, "fashion-mnist", sums)
    ds = load_dataset("fashion-mnist", root=tmp_path)
    assert len(ds.train_labels) == 6
    assert len(server.requests) == 4
    load_dataset("fashion-mnist", root=tmp_path)  # now cached
    assert len(server.requests) == 4


@pytest.mark.skipif(
    not data._is_complete(data.FASHION_SYSTEM_DIR),
    reason="Debian's dataset-fashion-mnist is not installed",
)
def test_load_dataset_reads_debian_fashion_mnist() -> None:
    ds = load_dataset("fashion-mnist", download_missing=False)
    assert (len(ds.train_labels), len(ds.test_labels)) == (60_000, 10_000)
    assert np.bincount(ds.train_labels).tolist() == [6000] * 10


# --------------------------------------------------------------------------- network inputs


def test_to_inputs() -> None:
    images = np.zeros((2, 28, 28), np.uint8)
    images[0, 0, 0], images[1, 27, 27], images[1, 0, 1] = 255, 51, 1
    x = to_inputs(images)
    assert x.shape == (2, 784)
    assert x.dtype == np.float32
    assert x[0, 0] == 1.0
    assert x[1, 783] == pytest.approx(0.2)
    assert x[1, 1] == np.float32(1 / 255)
    assert x.sum() == pytest.approx(1 + 0.2 + 1 / 255)
    assert to_inputs(images.reshape(2, 784), dtype=np.float64).dtype == np.float64
    assert not np.shares_memory(x, images)
    with pytest.raises(DataError, match="uint8"):
        to_inputs(images.astype(np.float32))
    with pytest.raises(ShapeError, match=r"\(28, 28\)"):
        to_inputs(images[0])

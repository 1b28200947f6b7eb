"""Tests of nudgenet.data.fetch against a real HTTP server on 127.0.0.1 (no mocks):
mirrors tried in turn, digests checked, nothing partial or private left in the cache, and
one clear error, on the command line too, when no mirror can be reached."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import platformdirs
import pytest
from clitools import run
from datatools import GZ_FILES, MirrorServer, closed_port, sha256, small_set

from nudgenet.data import MNIST_FILES, load_folder
from nudgenet.data.fetch import CHECKSUMS, MIRRORS, data_home, download
from nudgenet.errors import ConfigError, DownloadError


def _sums(payloads: dict[str, bytes]) -> dict[str, str]:
    return {name: sha256(blob) for name, blob in payloads.items()}


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in GZ_FILES)


def test_download_fetches_and_verifies(
    server: MirrorServer, payloads: dict[str, bytes], tmp_path: Path
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
    server: MirrorServer, payloads: dict[str, bytes], tmp_path: Path
) -> None:
    good = server.publish("/good/", payloads)
    missing = server.url + "/missing"  # no trailing slash: one is added
    download("mnist", tmp_path, mirrors=[missing, good], checksums=_sums(payloads))
    expected = [p for name in GZ_FILES for p in (f"/missing/{name}", f"/good/{name}")]
    assert server.requests == expected


def test_download_falls_through_a_refused_connection(
    server: MirrorServer, payloads: dict[str, bytes], tmp_path: Path
) -> None:
    good = server.publish("/good/", payloads)
    dead = f"http://127.0.0.1:{closed_port()}/"
    folder = download("mnist", tmp_path, mirrors=(dead, good), checksums=_sums(payloads))
    assert sorted(p.name for p in folder.iterdir()) == sorted(GZ_FILES)


def test_download_rejects_a_wrong_checksum_leaving_nothing(
    server: MirrorServer, payloads: dict[str, bytes], tmp_path: Path
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


def test_download_reports_every_failed_mirror(server: MirrorServer, tmp_path: Path) -> None:
    first, second = server.url + "/a/", server.url + "/b/"
    with pytest.raises(DownloadError, match="could not download train-images") as excinfo:
        download("mnist", tmp_path, mirrors=[first, second])
    message = str(excinfo.value)
    assert f"{first}train-images-idx3-ubyte.gz (HTTP 404" in message
    assert f"{second}train-images-idx3-ubyte.gz (HTTP 404" in message
    assert "help: check the internet connection" in message
    assert _leftovers(tmp_path / "mnist") == []


def test_download_skips_files_already_good(
    server: MirrorServer, payloads: dict[str, bytes], tmp_path: Path
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
    server: MirrorServer,
    payloads: dict[str, bytes],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
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
    with pytest.raises(ConfigError, match=r"'file:///srv/mnist/' is not an http:// or https://"):
        download("mnist", tmp_path, mirrors=["http://127.0.0.1:9/", "file:///srv/mnist/"])
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
    server: MirrorServer, mnist_dir: Path, tmp_path: Path
) -> None:
    files = {n: (mnist_dir / n).read_bytes() for n in GZ_FILES if (mnist_dir / n).is_file()}
    if len(files) < 4:
        pytest.skip(f"{mnist_dir} does not hold the four .gz files")
    mirror = server.publish("/mnist/", files)
    folder = download("mnist", tmp_path, mirrors=[mirror])
    assert all((folder / n).read_bytes() == blob for n, blob in files.items())


@pytest.mark.mnist
def test_checksum_table_matches_canonical_files(mnist_dir: Path) -> None:
    for name in GZ_FILES:
        path = mnist_dir / name
        if not path.is_file():
            pytest.skip(f"{path} is not gzipped; the table holds digests of the .gz files")
        algorithm, expected = CHECKSUMS["mnist"][name]
        assert hashlib.new(algorithm, path.read_bytes()).hexdigest() == expected


@pytest.fixture
def umask() -> Iterator[int]:
    """Run with umask 027, so a file the user writes gets mode 640 (not 600, not 644)."""
    old = os.umask(0o027)
    yield 0o027
    os.umask(old)


def test_download_files_get_the_users_usual_mode(
    server: MirrorServer, payloads: dict[str, bytes], tmp_path: Path, umask: int
) -> None:
    # Downloads first land in a private temporary file; a shared $NUDGENET_DATA cache must
    # still end up readable to the group, as any file written with open() would be.
    mirror = server.publish("/m/", payloads)
    folder = download("mnist", tmp_path, mirrors=[mirror], checksums=_sums(payloads))
    for name in GZ_FILES:
        assert oct((folder / name).stat().st_mode & 0o777) == oct(0o666 & ~umask)


def test_download_drops_a_cut_off_transfer(
    server: MirrorServer, payloads: dict[str, bytes], tmp_path: Path
) -> None:
    cut, good = server.publish("/cut/", payloads), server.publish("/good/", payloads)
    server.cut_short.add("/cut/t10k-images-idx3-ubyte.gz")
    with pytest.raises(DownloadError, match=r"t10k-images-idx3-ubyte\.gz") as excinfo:
        download("mnist", tmp_path, mirrors=[cut], checksums=_sums(payloads))
    assert f"{cut}t10k-images-idx3-ubyte.gz (" in str(excinfo.value)
    folder = tmp_path / "mnist"
    assert not (folder / "t10k-images-idx3-ubyte.gz").exists()
    assert _leftovers(folder) == []
    download("mnist", tmp_path, mirrors=[cut, good], checksums=_sums(payloads))
    assert (folder / "t10k-images-idx3-ubyte.gz").read_bytes() == payloads[
        "t10k-images-idx3-ubyte.gz"
    ]
    assert _leftovers(folder) == []


def test_download_keeps_the_old_file_when_no_mirror_gives_a_good_one(
    server: MirrorServer, payloads: dict[str, bytes], tmp_path: Path
) -> None:
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / GZ_FILES[0]).write_bytes(b"an older copy")
    mirror = server.publish("/m/", {GZ_FILES[0]: b"not what the digest says"})
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download("mnist", tmp_path, mirrors=[mirror], checksums=_sums(payloads))
    assert (folder / GZ_FILES[0]).read_bytes() == b"an older copy"
    assert _leftovers(folder) == []


def test_cli_reports_an_unreachable_mirror_without_a_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUDGENET_DATA", str(tmp_path / "cache"))
    dead = f"http://127.0.0.1:{closed_port()}/mnist/"
    monkeypatch.setitem(MIRRORS, "mnist", (dead,))
    code, out, err = run(capsys, "train", "--data", "mnist", "--out", str(tmp_path / "m.npz"))
    assert code == 1
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == (
        f"error: could not download train-images-idx3-ubyte.gz of mnist into "
        f"{tmp_path / 'cache' / 'mnist'}; tried:"
    )
    assert lines[1] == f"  {dead}train-images-idx3-ubyte.gz (cannot connect: Connection refused)"
    assert lines[2].startswith("help: check the internet connection, or pass --data PATH")
    assert "Traceback" not in err
    assert not (tmp_path / "m.npz").exists()

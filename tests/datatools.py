"""Writing MNIST-format files and serving them over HTTP, as the data tests do.

The encoder here is written from the format's description, independently of
:func:`nudgenet.data.read_idx`, so that the reader is tested against the format and not
against itself.
"""

from __future__ import annotations

import gzip
import hashlib
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from nudgenet.data import MNIST_FILES

_CODES = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}
GZ_FILES = tuple(f"{n}.gz" for n in MNIST_FILES)


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


def closed_port() -> int:
    """A local port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MirrorServer(ThreadingHTTPServer):
    """Serves ``files`` (URL path -> bytes) and records every requested path.

    A path in ``cut_short`` is served with the full ``Content-Length`` but only half its
    body before the connection closes, as a dropped connection would leave it.
    """

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {}
        self.cut_short: set[str] = set()
        self.requests: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def publish(self, prefix: str, payloads: dict[str, bytes]) -> str:
        for name, blob in payloads.items():
            self.files[f"{prefix}{name}"] = blob
        return self.url + prefix


class _Handler(BaseHTTPRequestHandler):
    server: MirrorServer

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        body = self.server.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path in self.server.cut_short:
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""

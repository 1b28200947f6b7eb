"""Writing files so that nothing the user had is lost.

A file is written to a temporary name in the same folder and renamed over the target only
when complete, so a crash, a full disk or an exception mid-way leaves the old file intact.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Open ``path`` for writing bytes; it appears, whole, only if the block succeeds.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "hello.txt"
    >>> with atomic_write(target) as f:
    ...     _ = f.write(b"hello")
    >>> target.read_bytes()
    b'hello'
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(tmp, new_file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def new_file_mode() -> int:
    """The mode a plain ``open()`` gives a new file: ``0o666`` less the process's umask.

    A temporary file from :mod:`tempfile` is private (``0o600``). Given this mode before it
    is renamed into place, it ends up readable by whoever could read any other file the
    user writes, which matters for a cache shared between users.
    """
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask

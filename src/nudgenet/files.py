"""Writing files so that nothing the user had is lost.

A file is written to a temporary name in the same folder and renamed over the target only
when complete, so a crash, a full disk or an exception mid-way leaves the old file intact.
Temporary names follow one pattern, ``.<target name>.<random>.nudgenet-tmp``, so that one
left behind by a killed process is recognised and removed by a later save into the same
folder once it is :data:`STALE_SECONDS` old. A write that fails raises :class:`OutputError`
saying what could not be written and why; :func:`check_writable` and
:func:`check_folder` ask the same question before a long computation, without writing.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from .errors import OutputError

TEMP_SUFFIX = ".nudgenet-tmp"
# A temporary file this old has no writer left: a save takes seconds, not an hour.
STALE_SECONDS = 3600.0
# What tempfile puts between the prefix and the suffix.
_RANDOM = "[a-z0-9_]{8}"
# Bytes of the target's name a temporary name may hold; a longer one is cut to 183 and
# hashed, so that a temporary name never exceeds 223 bytes and fits wherever the usual
# 255-byte limit lets the target's own name fit.
_NAME_ROOM = 200
_NAME_MAX = 255
# Errors of the disk itself: turned into an OutputError even when the caller's own writing
# met them, since they say nothing about the caller's data.
_EDQUOT = getattr(errno, "EDQUOT", errno.ENOSPC)
_DISK_ERRNOS = frozenset({errno.ENOSPC, _EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS})


@contextmanager
def atomic_write(path: str | os.PathLike[str], *, overwrite: bool = True) -> Iterator[BinaryIO]:
    """Open ``path`` for writing bytes; it appears, whole, only if the block succeeds.

    Stale temporary files of the same target (from a killed save) are removed first. With
    ``overwrite=False`` an existing ``path`` is never replaced: the write fails with
    :class:`OutputError` instead. Failures of the file system (a folder, a read-only place,
    a name too long, a full disk) raise :class:`OutputError`; the block's own exceptions
    pass through unchanged.

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
    _check_target(path)
    remove_stale(path)
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=temp_prefix(path.name), suffix=TEMP_SUFFIX, dir=_folder(path)
        )
    except OSError as exc:
        raise cannot_write(path, exc) from exc
    in_block = True
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            in_block = False
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(tmp, new_file_mode())
        _put_in_place(tmp, path, overwrite)
    except OutputError:  # already says what failed, e.g. from a write nested in the block
        _discard(tmp)
        raise
    except OSError as exc:
        _discard(tmp)
        if in_block and exc.errno not in _DISK_ERRNOS:
            raise
        raise cannot_write(path, exc) from exc
    except BaseException:
        _discard(tmp)
        raise


def _put_in_place(tmp: str, path: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)  # fails if path exists: no window in which it could be replaced
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: check, then rename
        if path.exists():
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path)) from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)


def _discard(tmp: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def temp_prefix(name: str) -> str:
    """The start of a temporary file's name for the target ``name``: ``.name.``.

    A long name is cut and completed by a hash of the whole, so that the temporary name
    never exceeds the file system's limit when the target's own name does not.

    Examples
    --------
    >>> temp_prefix("model.npz")
    '.model.npz.'
    >>> len(temp_prefix("x" * 250))
    202
    """
    raw = os.fsencode(name)
    if len(raw) <= _NAME_ROOM:
        return f".{name}."
    digest = hashlib.sha256(raw).hexdigest()[:16]
    return f".{os.fsdecode(raw[: _NAME_ROOM - 17])}~{digest}."


def temp_pattern(name: str) -> re.Pattern[str]:
    """The names :func:`atomic_write` gives the temporary files of the target ``name``.

    Those of earlier versions (``.name.<random>.tmp``) match too, so they are cleaned up.
    """
    ours = re.escape(temp_prefix(name)) + _RANDOM + re.escape(TEMP_SUFFIX)
    earlier = re.escape(f".{name}.") + _RANDOM + re.escape(".tmp")
    return re.compile(f"(?:{ours}|{earlier})")


def remove_stale(path: str | os.PathLike[str], *, age: float = STALE_SECONDS) -> list[Path]:
    """Remove the temporary files of ``path`` older than ``age`` seconds; return them.

    Only regular files whose names match :func:`temp_pattern` for this very target are
    touched, and any that cannot be removed are left: cleaning up must never stop a save.
    """
    path = Path(path)
    pattern = temp_pattern(path.name)
    cutoff = time.time() - age
    removed = []
    try:
        entries = list(os.scandir(_folder(path)))
    except OSError:
        return []
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if entry.is_file(follow_symlinks=False) and info.st_mtime < cutoff:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def check_writable(path: str | os.PathLike[str]) -> Path:
    """Raise :class:`OutputError` now if :func:`atomic_write` could not write ``path``.

    Meant for before a long computation, so that its result is not lost for want of a
    place to put it. It writes and removes a temporary file beside ``path``: only trying
    tells a read-only or full place apart (permission bits do not bind root). An existing
    ``path`` is left untouched.
    """
    path = Path(path)
    _check_target(path)
    _probe(_folder(path), path.name, path)
    return path


def check_folder(folder: str | os.PathLike[str], *, exists: bool = False) -> Path:
    """Raise :class:`OutputError` now if files could not be written into ``folder``.

    A folder that does not exist yet is fine unless ``exists``: then it is the nearest
    existing folder above it that must be writable, for it to be created there. Nothing is
    created.
    """
    folder = Path(folder)
    if folder.is_dir():
        _probe(folder, "probe", folder)
        return folder
    if folder.exists() or folder.is_symlink():
        raise OutputError(
            f"cannot write into {folder}: it is a file, not a folder",
            help="give a folder that does not exist yet (it is created) or an existing one",
        )
    if exists:
        raise OutputError(
            f"cannot write into {folder}: the folder does not exist",
            help="create it first, or choose another",
        )
    above = folder.parent
    while not above.exists() and not above.is_symlink() and above != above.parent:
        above = above.parent
    if not above.is_dir():
        raise OutputError(
            f"cannot create the folder {folder}: {above} is a file, not a folder",
            help="choose a folder whose parents are folders",
        )
    _probe(above, "probe", folder)
    return folder


def _probe(folder: Path, name: str, shown: Path) -> None:
    """Create and remove a temporary file for ``name`` in ``folder``; OutputError if not."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(name), suffix=TEMP_SUFFIX, dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise cannot_write(shown, exc, folder=folder) from exc


def cannot_write(path: Path, exc: OSError, *, folder: Path | None = None) -> OutputError:
    """The :class:`OutputError` for an ``OSError`` met writing ``path``, with its remedy."""
    reason = exc.strerror or str(exc)
    folder = _folder(path) if folder is None else folder
    remedies = {
        errno.EACCES: f"the folder {folder} is not writable: choose another place",
        errno.EPERM: f"the folder {folder} is not writable: choose another place",
        errno.EROFS: f"{folder} is on a read-only file system: choose another place",
        errno.ENOSPC: "the disk is full: free some space, or choose another disk",
        _EDQUOT: "the disk quota is used up: free some space, or choose another disk",
        errno.ENAMETOOLONG: "choose a shorter file name (most file systems allow 255 bytes)",
        errno.EISDIR: f"{path} is a folder: name a file inside it, or another file",
        errno.ENOTDIR: f"part of {folder} is a file, not a folder: choose another place",
        errno.ENOENT: f"the folder {folder} does not exist: create it first",
        errno.EEXIST: f"{path} already exists and is kept: choose another name",
    }
    error = OutputError(
        f"cannot write {path}: {reason}",
        help=remedies.get(exc.errno or 0, "choose another place to write it"),
    )
    error.errno = exc.errno
    return error


def _check_target(path: Path) -> None:
    """What is wrong with ``path`` as a file to write, asked of the disk without writing."""
    try:
        _check_target_on_disk(path)
    except OutputError:
        raise
    except OSError as exc:  # e.g. a folder on the way that cannot be looked into
        raise cannot_write(path, exc) from exc


def _check_target_on_disk(path: Path) -> None:
    folder = _folder(path)
    if not path.name:
        raise OutputError(
            f"cannot write {path}: it is a folder, not a file",
            help=f"name a file inside it, e.g. {path / 'out'}",
        )
    try:
        limit = os.pathconf(folder, "PC_NAME_MAX") if folder.is_dir() else _NAME_MAX
    except (OSError, ValueError):
        limit = _NAME_MAX
    size = len(os.fsencode(path.name))
    if size > limit:
        raise OutputError(
            f"cannot write {path.name[:40]}…: the name is {size} bytes long, and the folder "
            f"allows {limit}",
            help="choose a shorter file name",
        )
    if not folder.is_dir():
        raise OutputError(
            f"cannot write {path}: the folder {folder} "
            + ("is a file" if folder.exists() else "does not exist"),
            help="create the folder first, or choose another place",
        )
    if path.is_dir():
        raise OutputError(
            f"cannot write {path}: it is a folder, not a file",
            help=f"name a file inside it, e.g. {path / 'out'}",
        )


def _folder(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def new_file_mode() -> int:
    """The mode a plain ``open()`` gives a new file: ``0o666`` less the process's umask.

    A temporary file from :mod:`tempfile` is private (``0o600``). Given this mode before it
    is renamed into place, it ends up readable by whoever could read any other file the
    user writes, which matters for a cache shared between users.
    """
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask

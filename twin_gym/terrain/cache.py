"""On-disk cache of built twins, keyed by source identity and build parameters."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import platformdirs

import twin_gym

logger = logging.getLogger(__name__)

CACHE_ENV_VAR = "TWIN_GYM_CACHE_DIR"


def cache_dir() -> Path:
    """Return the cache folder: ``$TWIN_GYM_CACHE_DIR`` or the user cache folder."""
    override = os.environ.get(CACHE_ENV_VAR)
    if override:
        return Path(override)
    return Path(platformdirs.user_cache_dir("twin_gym")) / "twins"


def source_identity(path: Path) -> dict[str, Any]:
    """Return what identifies a source file's content cheaply: path, size, mtime."""
    stat = path.stat()
    return {
        "path": str(path.resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
    }


def cache_key(identity: dict[str, Any], params: dict[str, Any]) -> str:
    """Return the hex key of a twin built from ``identity`` with ``params``.

    The package version is part of the key, so a new release never loads a
    twin that an older build step made.
    """
    document = json.dumps(
        {"source": identity, "params": params, "version": twin_gym.__version__},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(document.encode()).hexdigest()[:32]


def write_atomic(path: Path, write: Callable[[str], None]) -> None:
    """Call ``write(temporary_path)`` and move the result to ``path`` atomically.

    The temporary file lives in the destination folder, so ``os.replace`` is a
    rename on one file system: readers see either the old file or the whole
    new one, and a failed write leaves nothing behind.
    """
    write_atomic_all([(path, write)])


def write_atomic_all(writes: list[tuple[Path, Callable[[str], None]]]) -> None:
    """Write several files as :func:`write_atomic` does, all or none of them.

    Every file is written to its temporary path first and renamed only once
    all writes have succeeded, so a failed write leaves none of them behind.
    The renames run one after another, so an I/O error or an interrupt
    between two of them leaves the earlier ones done. The files get the
    permissions of a new file under the process umask.

    Raises:
        OSError: If a file cannot be written, naming its destination path.
    """
    temporaries = []
    current = None
    try:
        try:
            for current, write in writes:
                current.parent.mkdir(parents=True, exist_ok=True)
                temporary = _create_temporary(current)
                temporaries.append(temporary)
                write(str(temporary))
            for (current, _), temporary in zip(writes, temporaries, strict=True):
                os.replace(temporary, current)
        except OSError as error:
            if error.errno is None:
                raise
            # Name the destination, not the temporary file.
            raise OSError(error.errno, error.strerror, str(current)) from error
    except BaseException:
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)
        raise


def _create_temporary(path: Path) -> Path:
    """Create an empty, uniquely named file next to ``path`` and return its path.

    ``os.open`` with mode 0o666 lets the umask set the permissions, as for
    any new file (``tempfile.mkstemp`` would make it 0o600).
    """
    while True:
        # The name is cut so that a long one stays under the 255-byte limit.
        temporary = path.parent / f".{path.name[:200]}.{secrets.token_hex(6)}.part"
        try:
            handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(handle)
        return temporary

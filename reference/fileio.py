"""Writing files: atomic replacement with ordinary permissions; the user's cache directory,
where hypothesis' files go instead of the working directory.

``write_atomic`` writes to a temporary file beside the target and renames it over the
target, so a reader sees the old file or the new one, never half of one. The temporary
file comes from ``tempfile.mkstemp``, which creates it with mode 0600; the rename would
carry that mode to the target, so the mode is set first: the target's own mode when it
exists, otherwise ``0o666 & ~umask``, what a plain ``open(path, "w")`` gives.
"""

from __future__ import annotations

import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path

APP_NAME = "scratch-vs-torch"


def current_umask() -> int:
    """The process umask. POSIX only lets a process read it by setting it, so it is set and
    put straight back; in between it is the strictest one, so a file another thread creates in
    that instant gets fewer permissions, never more."""
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _mode_for(path: Path) -> int:
    """The permission bits ``path`` should get: its own if it exists, else a new file's."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return 0o666 & ~current_umask()


def _atomic(path: Path, write) -> Path:
    """Call ``write(f)`` on a binary file beside ``path``, then rename that file to ``path``.
    On any exception (KeyboardInterrupt included) the temporary file is removed and
    ``path`` keeps its old content."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to a temporary file beside ``path`` and rename it: a reader never
    sees half a file. A new file gets ``0o666 & ~umask``; an existing one keeps its mode."""
    return _atomic(path, lambda f: f.write(text.encode()))


def user_cache_dir(*names: str, environ=None) -> Path:
    """``$XDG_CACHE_HOME/scratch-vs-torch/NAMES`` (an absolute XDG_CACHE_HOME only, as the
    XDG spec says), else ``~/.cache/scratch-vs-torch/NAMES``. Nothing is created."""
    environ = os.environ if environ is None else environ
    xdg = environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path(environ.get("HOME") or Path.home()) / ".cache"
    return base.joinpath(APP_NAME, *names)


@contextmanager
def hypothesis_storage_in_user_cache(environ=None):
    """Keep hypothesis' files (its database, its cache of source constants: ``.hypothesis/`` in
    the working directory by default) in ``user_cache_dir("hypothesis")`` for the duration, unless
    HYPOTHESIS_STORAGE_DIRECTORY is set. Hypothesis reads that variable once and keeps the
    directory in a module global, so the global is set directly where hypothesis offers a
    setter, and put back after (for callers in a process that goes on using hypothesis)."""
    environ = os.environ if environ is None else environ
    if environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        yield None
        return
    from hypothesis import configuration

    path = user_cache_dir("hypothesis", environ=environ)
    setter = getattr(configuration, "set_hypothesis_home_dir", None)
    previous = getattr(configuration, "__hypothesis_home_directory", None)
    if setter is None:  # an older hypothesis reads the variable on every use
        environ["HYPOTHESIS_STORAGE_DIRECTORY"] = str(path)
    else:
        setter(path)
    try:
        yield path
    finally:
        if setter is None:
            environ.pop("HYPOTHESIS_STORAGE_DIRECTORY", None)
        else:
            setter(previous)

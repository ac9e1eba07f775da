"""Locating, verifying and downloading data files.

The raw data files live once, in the repository's top-level ``datasets/`` folder, and ship in
the wheel as the package data of ``fairkit._data``. :func:`read_verified` finds a file in
this order:

1. the ``data_home`` argument of a loader, if given;
2. the directory named by the environment variable ``FAIRKIT_DATA``, if set;
3. the installed package data (``importlib.resources.files("fairkit._data")``);
4. in a source checkout or editable install, the repository's ``datasets/`` folder.

Whatever the location, the expected SHA-256 digests always come from the ``SHA256SUMS``
shipped with fairkit itself, so a replaced, truncated or corrupted copy is refused. The
whole file is read into memory and hashed *before* anything parses it, so a loader either
returns complete data or raises: nothing is half-loaded. Data are never unpickled.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import urllib.parse
import urllib.request
import warnings
from pathlib import Path

__all__ = [
    "ChecksumError",
    "bundled_data_dir",
    "get_data_home",
    "sha256_file",
    "verify_file",
    "read_verified",
    "fetch_url",
]

#: Environment variable naming a directory that replaces the bundled data folder.
DATA_HOME_ENV = "FAIRKIT_DATA"
_CHUNK = 1 << 20


class ChecksumError(ValueError):
    """A data file's SHA-256 digest differs from the expected one, or cannot be known
    because fairkit's checksum list ``SHA256SUMS`` is damaged or has no entry for it."""


_SUMS_LINE = re.compile(r"([0-9A-Fa-f]{64}) [ *]?\*?(\S.*)")


def _data_home_note():
    """Where the data files were looked for, for error messages."""
    env = os.environ.get(DATA_HOME_ENV)
    if env:
        return (f"{DATA_HOME_ENV} is set to {env!r}, so the data files are read from there "
                "(the checksums still come from fairkit's own SHA256SUMS)")
    return None


def bundled_data_dir():
    """The folder holding fairkit's bundled data files.

    Returns a :class:`importlib.resources.abc.Traversable` (a :class:`pathlib.Path` in a
    source checkout) that contains ``SHA256SUMS``.

    Raises
    ------
    FileNotFoundError
        If neither the installed package data nor a source checkout's ``datasets/`` folder
        can be found.
    """
    try:
        from importlib.resources import files

        root = files("fairkit._data")
        if root.joinpath("SHA256SUMS").is_file():
            return root
    except (ModuleNotFoundError, TypeError, ValueError):
        pass
    import fairkit

    checkout = Path(fairkit.__file__).resolve().parents[1] / "datasets"
    if (checkout / "SHA256SUMS").is_file():
        return checkout
    raise FileNotFoundError(
        "fairkit's checksum list SHA256SUMS is missing: it is in neither the package data "
        f"'fairkit._data' nor a source checkout's datasets/ folder ({checkout}). Reinstall "
        f"fairkit. ({DATA_HOME_ENV} or data_home cannot stand in for it: they only move the "
        "data files, whose checksums always come from fairkit's own SHA256SUMS.)"
    )


def get_data_home(data_home=None):
    """Where data files are read from: ``data_home``, else ``$FAIRKIT_DATA``, else the
    bundled folder (see :func:`bundled_data_dir`)."""
    if data_home is not None:
        return Path(data_home).expanduser()
    env = os.environ.get(DATA_HOME_ENV)
    if env:
        return Path(env).expanduser()
    return bundled_data_dir()


def _expected_checksums() -> dict[str, str]:
    """``{name: digest}`` from fairkit's ``SHA256SUMS`` (``sha256sum`` format: 64 hex
    digits, one or two spaces or `` *``, the path relative to the data folder).

    Raises :class:`ChecksumError` naming the file and line if the list is damaged.
    """
    resource = bundled_data_dir().joinpath("SHA256SUMS")

    def damaged(problem):
        return ChecksumError(
            f"fairkit's checksum list {resource} {problem}. The list is damaged; reinstall "
            "fairkit (no data file can be verified without it)."
        )

    try:
        raw = resource.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"fairkit's checksum list {resource} is missing. Reinstall fairkit."
        ) from None
    except OSError as exc:
        raise damaged(f"cannot be read ({exc})") from None
    sums = {}
    for number, line in enumerate(raw.split(b"\n"), start=1):
        try:
            text = line.decode("ascii").rstrip("\r")
        except UnicodeDecodeError as exc:
            raise damaged(f"has a non-ASCII byte 0x{line[exc.start]:02x} on line {number}"
                          ) from None
        if not text.strip():
            continue
        match = _SUMS_LINE.fullmatch(text.strip())
        if match is None:
            raise damaged(f"has a malformed line {number}: {text[:80]!r} (expected 64 hex "
                          "digits, two spaces and a file name)")
        digest, name = match.group(1).lower(), match.group(2).strip()
        if sums.get(name, digest) != digest:
            raise damaged(f"lists {name!r} twice with different digests (line {number})")
        sums[name] = digest
    if not sums:
        raise damaged("is empty")
    return sums


def sha256_file(path) -> str:
    """Hex SHA-256 digest of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _mismatch(name, path, expected, actual, size):
    return ChecksumError(
        f"Data file {name!r} ({path}) failed its SHA-256 check: expected {expected}, "
        f"got {actual} ({size:,} bytes). The file is truncated, corrupted or not the "
        "published version; restore it (reinstall fairkit, or download it again) and do "
        "not use the data."
    )


def verify_file(path, sha256) -> Path:
    """Check that the file at ``path`` has SHA-256 digest ``sha256``.

    Returns the path; raises :class:`FileNotFoundError` or :class:`ChecksumError`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Data file {str(path)!r} does not exist.")
    actual = sha256_file(path)
    if actual != str(sha256).lower():
        raise _mismatch(path.name, path, str(sha256).lower(), actual, path.stat().st_size)
    return path


def read_verified(name: str, data_home=None) -> bytes:
    """Read a bundled data file and check its SHA-256 digest before returning its bytes.

    Parameters
    ----------
    name : str
        Path relative to the data folder, as listed in ``SHA256SUMS``
        (e.g. ``"adult/adult.data.gz"``).
    data_home : str or path-like, optional
        Folder with the same layout as the bundled one, used instead of it. The expected
        digests still come from fairkit's own ``SHA256SUMS``.

    Returns
    -------
    bytes
        The file's content (still gzip-compressed for ``.gz`` files).

    Raises
    ------
    FileNotFoundError
        If the file, or fairkit's ``SHA256SUMS``, is missing; the message says where the
        file was looked for (``data_home``, ``$FAIRKIT_DATA`` or the bundled folder).
    ChecksumError
        If its digest differs from the expected one (wrong, corrupted or truncated file),
        or ``SHA256SUMS`` is damaged (the line is named) or has no entry for ``name``.
    """
    sums = _expected_checksums()
    if name not in sums:
        raise ChecksumError(
            f"{name!r} has no entry in fairkit's checksum list "
            f"{bundled_data_dir().joinpath('SHA256SUMS')} (entries: {sorted(sums)}): it is "
            "not a fairkit data file, or the list is damaged or out of date (reinstall "
            "fairkit)."
        )
    root = get_data_home(data_home)
    resource = root
    for part in name.split("/"):  # one level at a time: MultiplexedPath takes one argument
        resource = resource.joinpath(part)
    if not resource.is_file():
        if data_home is not None:
            where = (f"the data_home folder {str(root)!r}; put the file there (same layout "
                     "as fairkit's datasets/ folder) or leave data_home unset")
        elif _data_home_note():
            where = (f"{str(root)!r}: {_data_home_note()}. Put the file there (same layout "
                     f"as fairkit's datasets/ folder), or unset {DATA_HOME_ENV} to use the "
                     "copy bundled with fairkit")
        else:
            where = (f"fairkit's bundled data folder {root}. It should ship with fairkit: "
                     f"reinstall the package, or set {DATA_HOME_ENV} (or data_home) to a "
                     "folder that holds it")
        raise FileNotFoundError(f"Data file {name!r} is missing from {where}.")
    content = resource.read_bytes()
    actual = hashlib.sha256(content).hexdigest()
    if actual != sums[name]:
        raise _mismatch(name, resource, sums[name], actual, len(content))
    return content


def _default_cache_dir() -> Path:
    env = os.environ.get("FAIRKIT_CACHE")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "fairkit"


def _urlopen(url):
    """Open ``url`` for reading (separate so tests can replace the fetcher)."""
    return urllib.request.urlopen(url, timeout=60)  # noqa: S310 - http(s)/file only


def fetch_url(url: str, *, sha256=None, cache_dir=None, filename=None) -> Path:
    """Download ``url`` into a cache folder once, checking its SHA-256 digest.

    The file is streamed to a temporary file in the cache folder while it is hashed, and
    only moved to its final name once the digest matches: an interrupted or corrupted
    download never leaves a file that a later call would trust. A cached copy is re-hashed
    before it is reused.

    Parameters
    ----------
    url : str
        ``https://``, ``http://`` or ``file://`` URL.
    sha256 : str, optional
        Expected hex digest. Strongly recommended. Without it the file is accepted and a
        warning gives its digest so the caller can pin it next time.
    cache_dir : str or path-like, optional
        Folder for downloaded files; default ``$FAIRKIT_CACHE`` or ``~/.cache/fairkit``.
    filename : str, optional
        Name of the cached file; default the last component of the URL path.

    Returns
    -------
    pathlib.Path
        Path of the verified cached file.
    """
    scheme = urllib.parse.urlparse(url).scheme
    if scheme not in ("http", "https", "file"):
        raise ValueError(f"url={url!r}: only http(s):// and file:// URLs are supported.")
    cache = Path(cache_dir).expanduser() if cache_dir is not None else _default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    name = filename or Path(urllib.parse.unquote(urllib.parse.urlparse(url).path)).name
    if not name:
        raise ValueError(f"url={url!r} has no file name; pass filename=.")
    target = cache / name
    expected = None if sha256 is None else str(sha256).lower()
    if target.is_file():
        if expected is None:
            return target
        if sha256_file(target) == expected:
            return target
        target.unlink()  # stale or corrupted cached copy: fetch again
    h = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=cache, prefix=name + ".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, _urlopen(url) as response:
            for block in iter(lambda: response.read(_CHUNK), b""):
                h.update(block)
                out.write(block)
        actual = h.hexdigest()
        if expected is not None and actual != expected:
            raise _mismatch(name, url, expected, actual, os.path.getsize(tmp_name))
        shutil.move(tmp_name, target)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
    if expected is None:
        warnings.warn(
            f"Downloaded {url} without a checksum; its SHA-256 is {actual}. "
            "Pass sha256=... to pin it.",
            UserWarning,
            stacklevel=2,
        )
    return target



def _to_category(frame, columns):
    """Give string columns a sorted categorical dtype (what OneHotEncoder and groupby like)."""
    import pandas as pd

    for col in columns:
        cats = sorted(frame[col].dropna().unique().tolist())
        frame[col] = frame[col].astype(pd.CategoricalDtype(cats))
    return frame


def _make_bunch(data, target, *, target_names, prot_attr, descr, as_frame, return_X_y, **extra):
    """Build the scikit-learn style return value shared by the bundled loaders.

    ``data`` is a DataFrame and ``target`` a named Series; with ``as_frame=False`` they are
    returned as ndarrays (``data`` of object dtype when columns are mixed) and ``frame`` is
    None, as in scikit-learn.
    """
    import pandas as pd
    from sklearn.utils import Bunch

    data = data.reset_index(drop=True)
    target = target.reset_index(drop=True)
    feature_names = [str(c) for c in data.columns]
    frame = pd.concat([data, target], axis=1) if as_frame else None
    if not as_frame:
        data = data.to_numpy()
        target = target.to_numpy()
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        frame=frame,
        feature_names=feature_names,
        target_names=list(target_names),
        prot_attr=list(prot_attr),
        DESCR=descr,
        **extra,
    )

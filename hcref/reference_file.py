"""Reading a reference-vector case file (``.npz``) that someone else wrote, without trusting it.

A case file is a zip archive of ``.npy`` members. :func:`read_case_file` checks the archive before it
reads anything large: the number of members, each member's declared (uncompressed) size, the ``.npy``
header of each member (its dtype may not hold Python objects, its declared shape must account for exactly
the bytes the member holds), and only then builds the arrays. Every problem is a :class:`CaseFileError`
(a ``ValueError``) whose message names the file and what is wrong with it; nothing is unpickled.

Notes
-----
The ``.npy`` layout (magic string, version, little-endian header length, a Python-literal header with
``descr``, ``fortran_order`` and ``shape``, then the raw data) is NumPy's documented format
(NEP 1, "A simple file format for NumPy arrays"); the zip container is PKWARE's APPNOTE.
"""
from __future__ import annotations

import io
import json
import math
import os
import zipfile
import zlib
from typing import NamedTuple

import numpy as np

__all__ = ["CaseFileError", "CaseFile", "read_case_file", "MAX_MEMBERS", "MAX_MEMBER_BYTES",
           "MAX_TOTAL_BYTES", "ARRAY_PREFIXES"]

MAX_MEMBERS = 1024                 # a case holds tens of arrays
MAX_MEMBER_BYTES = 64 * 2 ** 20    # 64 MiB per array (cases are kilobytes)
MAX_TOTAL_BYTES = 256 * 2 ** 20    # 256 MiB per file
ARRAY_PREFIXES = ("in", "dout", "out", "grad")


class CaseFileError(ValueError):
    """A case file that cannot be read as a case; the message names the file."""


class CaseFile(NamedTuple):
    """The parts of one case file.

    ``groups[prefix][name]`` is the array stored as ``<prefix>.<name>`` for each prefix in
    ``("in", "dout", "out", "grad")``; ``extra`` holds every other member's name (not read).
    """
    mechanism: str
    config: dict
    groups: dict
    extra: tuple


def _member_array(data: bytes, where: str) -> np.ndarray:
    """Parse one ``.npy`` member held in ``data`` (already bounded in size), header first."""
    fp = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise CaseFileError(f"{where}: unsupported .npy format version {version}")
    except CaseFileError:
        raise
    except Exception as exc:     # noqa: BLE001 - numpy's header parser raises several kinds on garbage
        raise CaseFileError(f"{where}: not a valid .npy array header ({exc})") from exc
    if dtype.hasobject:
        raise CaseFileError(f"{where}: object array (dtype {dtype}); case files hold plain numbers and strings")
    if dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in "fiucbUS":
        raise CaseFileError(f"{where}: unsupported dtype {dtype}")
    count = math.prod(int(s) for s in shape)        # Python integers: no wrap-around
    declared = count * dtype.itemsize
    held = len(data) - fp.tell()
    if declared != held:
        raise CaseFileError(f"{where}: header declares shape {tuple(shape)} of {dtype} ({declared} bytes) "
                            f"but the member holds {held} data bytes")
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=fp.tell())
    return arr.reshape(shape, order="F" if fortran else "C").copy()


def _read_members(path: str, name: str, max_member_bytes: int) -> tuple[dict, list]:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError) as exc:
        raise CaseFileError(f"{name}: not a readable .npz (zip) file ({exc})") from exc
    except OSError as exc:
        raise CaseFileError(f"{name}: cannot open ({exc.strerror or exc})") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise CaseFileError(f"{name}: {len(infos)} members, more than the limit of {MAX_MEMBERS}")
        names = [i.filename for i in infos]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise CaseFileError(f"{name}: duplicate members {dupes}")
        total = sum(i.file_size for i in infos)
        for info in infos:                                   # sizes first, before any member is read
            if info.file_size > max_member_bytes:
                raise CaseFileError(f"{name}: member {info.filename!r} declares {info.file_size} bytes, "
                                    f"more than the limit of {max_member_bytes}")
        if total > MAX_TOTAL_BYTES:
            raise CaseFileError(f"{name}: members declare {total} bytes in all, more than the limit of "
                                f"{MAX_TOTAL_BYTES}")
        arrays, other = {}, []
        for info in infos:
            if not info.filename.endswith(".npy") or info.is_dir():
                other.append(info.filename)
                continue
            key = info.filename[:-4]
            try:
                data = zf.read(info)                     # bounded by info.file_size (checked above)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError) as exc:
                raise CaseFileError(f"{name}: member {key!r} cannot be read ({exc})") from exc
            arrays[key] = _member_array(data, f"{name}: member {key!r}")
    return arrays, other


def _string(arrays: dict, key: str, name: str) -> str:
    if key not in arrays:
        raise CaseFileError(f"{name}: no {key!r} entry (every case file names its mechanism and its JSON config)")
    value = arrays[key]
    if value.shape != () or value.dtype.kind not in "US":
        raise CaseFileError(f"{name}: {key!r} must be a single string, got shape {value.shape} dtype {value.dtype}")
    return str(value) if value.dtype.kind == "U" else value.item().decode("utf-8", "replace")


def read_case_file(path: str, *, max_member_bytes: int = MAX_MEMBER_BYTES) -> CaseFile:
    """Read and check one case file.

    Parameters
    ----------
    path : str
        A ``.npz`` written by ``numpy.savez`` (or any zip of ``.npy`` members).
    max_member_bytes : int
        Refuse any member that declares more (uncompressed) bytes than this.

    Returns
    -------
    CaseFile
        ``mechanism``, ``config`` (a dict parsed from JSON), ``groups`` of arrays by prefix, ``extra``
        names of members that are none of these (reported, not used).

    Raises
    ------
    CaseFileError
        Not a zip, truncated, too many or too large members, a bad ``.npy`` header, an object array, a
        missing or non-string ``mechanism``/``config``, a ``config`` that is not a JSON object.
    """
    name = os.path.basename(path)
    arrays, other = _read_members(path, name, max_member_bytes)
    mechanism = _string(arrays, "mechanism", name)
    text = _string(arrays, "config", name)
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise CaseFileError(f"{name}: 'config' is not valid JSON ({exc})") from exc
    if not isinstance(config, dict):
        raise CaseFileError(f"{name}: 'config' must be a JSON object, got {type(config).__name__}")
    groups = {p: {} for p in ARRAY_PREFIXES}
    extra = list(other)
    for key, value in arrays.items():
        prefix, dot, rest = key.partition(".")
        if key in ("mechanism", "config"):
            continue
        if dot and prefix in groups and rest:
            groups[prefix][rest] = value
        else:
            extra.append(key)
    return CaseFile(mechanism, config, groups, tuple(sorted(extra)))

"""A project's audio members (``mix.npy``, ``stem_<i>.npy``), read within the manifest's bounds.

:func:`member_info` reads only a member's npy header and checks it against the
manifest (shape, dtype, stored not compressed, the bytes really in the file)
before :func:`read_member` allocates anything, so a crafted header claiming
375 million samples costs nothing. Both raise :class:`Damaged`, which
``core.project`` turns into a ProjectError naming the file.
"""

from __future__ import annotations

import tokenize
import zipfile

import numpy as np

MAX_HEADER = 10_000            # numpy's own limit for an npy header
READ_CHUNK = 16 << 20          # audio is read in pieces: no second copy of a member


class Damaged(ValueError):
    """A member is missing, unlike its manifest, cut off or not audio.

    Attributes:
        sentence: the message is a whole sentence with ``{name}`` for the file's name
            (else it is the reason, for "<file> is damaged (<reason>)").
    """

    def __init__(self, message: str, sentence: bool = False) -> None:
        super().__init__(message)
        self.sentence = sentence


def member_info(zf: zipfile.ZipFile, member: str, shape: tuple[int, int],
                file_size: int) -> tuple[zipfile.ZipInfo, int]:
    """The member's entry and its npy header's length, checked against the manifest.

    Only the header is read: its shape and dtype must be the manifest's, and the
    member must be stored (the writer never compresses) and really hold that many
    bytes in the file, before anything is allocated for its audio.
    """
    try:
        info = zf.getinfo(member)
    except KeyError as e:
        raise Damaged(f"{member} is missing") from e
    if info.flag_bits & 0x1:
        raise Damaged(f"{member} is encrypted")
    if info.compress_type != zipfile.ZIP_STORED:
        raise Damaged("{name} was repacked with compression by another program; stemsplit "
                      "opens projects as it saves them (uncompressed)", sentence=True)
    data_bytes = shape[0] * shape[1] * 4
    if info.file_size > file_size or info.header_offset + info.compress_size > file_size:
        raise Damaged(f"{member} is cut off")
    try:
        with zf.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                header = np.lib.format.read_array_header_1_0(f, max_header_size=MAX_HEADER)
            elif version == (2, 0):
                header = np.lib.format.read_array_header_2_0(f, max_header_size=MAX_HEADER)
            else:
                raise ValueError(f"npy format {version}")
            header_len = f.tell()
    except (ValueError, SyntaxError, TypeError, EOFError, tokenize.TokenError) as e:
        raise Damaged(f"{member} has no readable audio header") from e
    got_shape, fortran, dtype = header
    if tuple(got_shape) != shape or fortran or dtype != np.dtype("<f4"):
        raise Damaged(f"{member} does not match its manifest: "
                      f"{_describe(got_shape, dtype)}, expected float32 {shape}")
    if info.file_size != header_len + data_bytes:
        raise Damaged(f"{member} holds {info.file_size} bytes, "
                      f"its header promises {header_len + data_bytes}")
    return info, header_len


def _describe(shape, dtype) -> str:
    text = f"{dtype} {tuple(shape)}"
    return text if len(text) <= 60 else text[:57] + "..."


def read_member(zf: zipfile.ZipFile, entry: tuple[zipfile.ZipInfo, int],
                shape: tuple[int, int]) -> np.ndarray:
    info, header_len = entry
    arr = np.empty(shape, np.float32)
    view = memoryview(arr).cast("B")
    with zf.open(info) as f:  # zipfile checks the member's CRC once it is read to its end
        f.read(header_len)
        pos = 0
        while pos < len(view):
            n = f.readinto(view[pos: pos + READ_CHUNK])
            if not n:
                raise Damaged(f"{info.filename} is cut off")
            pos += n
        if f.read(1):
            raise Damaged(f"{info.filename} is longer than it says")
    if not np.isfinite(arr).all():
        raise Damaged(f"{info.filename} holds NaN or infinite samples")
    return arr

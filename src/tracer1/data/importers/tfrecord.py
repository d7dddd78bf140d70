"""TFRecord files of `tf.train.Example` protos, read and written without TensorFlow.

AndroidControl ships as GZIP-compressed TFRecord files. Pulling in TensorFlow
(and android_env's protos) for that would add gigabytes to the image, and the
framing and the `Example` message are small and stable:

* a record is ``uint64 length | uint32 masked CRC32C(length) | data | uint32 masked
  CRC32C(data)``, little-endian;
* `Example` = {1: Features}; `Features` = {1: map<string, Feature>};
  `Feature` = {1: BytesList | 2: FloatList | 3: Int64List}, each {1: repeated value}.

Both CRCs are checked by default: a torn or shifted file fails at the length CRC, a
flipped payload bit at the data CRC (the proto decode would accept most of those and
hand on a wrong string or coordinate). The checksum is `google_crc32c`'s C code
(thousands of MB/s; in the lock for DVC and the GCS client), so AndroidControl's ~50 GB
cost seconds; the pure-Python `crc32c_py` (7 MB/s) is the reference the tests compare it
with and the fallback where the C extension is missing. The writer exists for fixtures
and tests.

>>> blob = encode_example({"goal": [b"Open settings"], "episode_id": [7]})
>>> decode_example(blob) == {"goal": [b"Open settings"], "episode_id": [7]}
True
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

Feature = list[bytes] | list[float] | list[int]

_POLY = 0x82F63B78  # CRC32C (Castagnoli), reflected


def _table() -> list[int]:
    table = []
    for n in range(256):
        crc = n
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _table()


def crc32c_py(data: bytes) -> int:
    """CRC32C in pure Python, table-driven: the reference for `crc32c` (~7 MB/s)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _fast_crc32c() -> Any:
    """`google_crc32c.value` when its C extension loaded, else None.

    The package falls back to its own pure-Python code when the extension is missing
    (`implementation == "python"`); that is no faster than ours, so ours is used then.
    """
    try:
        import google_crc32c
    except ImportError:
        return None
    return google_crc32c.value if google_crc32c.implementation == "c" else None


crc32c = _fast_crc32c() or crc32c_py
"""CRC32C (Castagnoli) of `data`: the C implementation where available."""


def masked_crc(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


class TFRecordError(ValueError):
    """A record could not be framed or decoded; `record` is its 0-based ordinal."""

    def __init__(self, record: int, problem: str):
        super().__init__(f"record {record}: {problem}")
        self.record = record
        self.problem = problem


def _open(path: Path):
    with open(path, "rb") as fh:
        gzipped = fh.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def iter_records(path: str | Path, *, verify_data: bool = True) -> Iterator[bytes]:
    """Each record's payload; raises TFRecordError at the first framing problem.

    `verify_data=False` skips the payload CRC (the length CRC is always checked).
    """
    with _open(Path(path)) as fh:
        index = 0
        while True:
            try:
                head = fh.read(12)
            except (OSError, EOFError) as exc:  # a truncated gzip stream
                raise TFRecordError(index, f"unreadable: {exc}") from None
            if not head:
                return
            if len(head) < 12:
                raise TFRecordError(index, "truncated record header")
            length_bytes, length_crc = head[:8], struct.unpack("<I", head[8:])[0]
            if masked_crc(length_bytes) != length_crc:
                raise TFRecordError(index, "length checksum mismatch (corrupt or not a TFRecord)")
            (length,) = struct.unpack("<Q", length_bytes)
            try:
                data, tail = fh.read(length), fh.read(4)
            except (OSError, EOFError) as exc:
                raise TFRecordError(index, f"unreadable: {exc}") from None
            if len(data) < length or len(tail) < 4:
                raise TFRecordError(index, "truncated record")
            if verify_data and masked_crc(data) != struct.unpack("<I", tail)[0]:
                raise TFRecordError(index, "data checksum mismatch")
            yield data
            index += 1


def write_records(path: str | Path, payloads: Sequence[bytes], *, compress: bool = True) -> None:
    """Write payloads as a (GZIP) TFRecord file, for fixtures and tests."""
    chunks = []
    for data in payloads:
        length = struct.pack("<Q", len(data))
        chunks += [length, struct.pack("<I", masked_crc(length)), data,
                   struct.pack("<I", masked_crc(data))]
    blob = b"".join(chunks)
    # mtime=0: the same payloads give the same bytes (committed fixtures stay stable).
    Path(path).write_bytes(gzip.compress(blob, mtime=0) if compress else blob)


# --- protobuf wire format, just enough for tf.train.Example


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result, shift = 0, 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _fields(buf: bytes) -> Iterator[tuple[int, int, bytes | int]]:
    """(field number, wire type, value) for each field of a message."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 2:
            size, pos = _varint(buf, pos)
            if pos + size > len(buf):
                raise ValueError("truncated length-delimited field")
            value, pos = buf[pos : pos + size], pos + size
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield number, wire, value


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _feature(buf: bytes) -> Feature:
    for number, _, inner in _fields(buf):
        if number == 1:  # BytesList
            return [bytes(v) for n, _, v in _fields(inner) if n == 1]
        if number == 2:  # FloatList: packed (wire 2) or not (wire 5)
            floats: list[float] = []
            for n, wire, v in _fields(inner):
                if n == 1:
                    raw = bytes(v)
                    floats += struct.unpack(f"<{len(raw) // 4}f", raw) if wire == 2 else \
                        [struct.unpack("<f", raw)[0]]
            return floats
        if number == 3:  # Int64List: packed (wire 2) or not (wire 0)
            ints: list[int] = []
            for n, wire, v in _fields(inner):
                if n != 1:
                    continue
                if wire == 0:
                    ints.append(_signed(v))  # type: ignore[arg-type]
                    continue
                pos = 0
                while pos < len(v):  # type: ignore[arg-type]
                    item, pos = _varint(v, pos)  # type: ignore[arg-type]
                    ints.append(_signed(item))
            return ints
    return []


def decode_example(buf: bytes) -> dict[str, Feature]:
    """A serialized tf.train.Example -> {feature name: list of values}; ValueError if malformed."""
    out: dict[str, Feature] = {}
    for number, _, features in _fields(buf):
        if number != 1:
            continue
        for n, _, entry in _fields(features):  # type: ignore[arg-type]
            if n != 1:
                continue
            key, value = "", b""
            for m, _, part in _fields(entry):  # type: ignore[arg-type]
                if m == 1:
                    key = bytes(part).decode("utf-8")  # type: ignore[arg-type]
                elif m == 2:
                    value = bytes(part)  # type: ignore[arg-type]
            out[key] = _feature(value)
    return out


def _enc_varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        bits, value = value & 0x7F, value >> 7
        out.append(bits | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _len_field(number: int, payload: bytes) -> bytes:
    return _enc_varint(number << 3 | 2) + _enc_varint(len(payload)) + payload


def encode_example(features: Mapping[str, Sequence[Any]]) -> bytes:
    """Serialize {name: values} as a tf.train.Example (bytes, floats or ints per feature)."""
    entries = b""
    for name, values in features.items():
        values = list(values)
        if all(isinstance(v, bytes) for v in values):
            inner = b"".join(_len_field(1, v) for v in values)  # type: ignore[arg-type]
            feature = _len_field(1, inner)
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            packed = b"".join(_enc_varint(v) for v in values)  # type: ignore[arg-type]
            feature = _len_field(3, _len_field(1, packed))
        else:
            packed = struct.pack(f"<{len(values)}f", *values)
            feature = _len_field(2, _len_field(1, packed))
        entry = _len_field(1, name.encode("utf-8")) + _len_field(2, feature)
        entries += _len_field(1, entry)
    return _len_field(1, entries)


__all__ = [
    "TFRecordError",
    "crc32c",
    "crc32c_py",
    "decode_example",
    "encode_example",
    "iter_records",
    "masked_crc",
    "write_records",
]

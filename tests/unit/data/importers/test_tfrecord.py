"""The TensorFlow-free TFRecord reader: CRC, proto round trips, framing errors."""

import gzip
import random
import sys

import pytest

from tracer1.data.importers import tfrecord
from tracer1.data.importers.tfrecord import (
    TFRecordError,
    crc32c,
    crc32c_py,
    decode_example,
    encode_example,
    iter_records,
    write_records,
)

# Known vectors: the standard check value and RFC 3720 (iSCSI) appendix B.4.
VECTORS = [
    (b"", 0x00000000),
    (b"123456789", 0xE3069283),
    (bytes(32), 0x8A9136AA),
    (b"\xff" * 32, 0x62A8AB43),
    (bytes(range(32)), 0x46DD794E),
    (bytes(range(31, -1, -1)), 0x113FDB5C),
]


@pytest.mark.parametrize("implementation", [crc32c, crc32c_py], ids=["crc32c", "reference"])
@pytest.mark.parametrize(("data", "expected"), VECTORS)
def test_crc32c_known_vectors(implementation, data, expected):
    assert implementation(data) == expected


def test_the_fast_crc_is_the_c_extension_and_agrees_with_the_reference():
    import google_crc32c

    assert google_crc32c.implementation == "c"  # in the lock: the fallback would be 700x slower
    assert crc32c is google_crc32c.value
    rng = random.Random(0)
    for size in (1, 7, 64, 1000, 4099):
        data = rng.randbytes(size)
        assert crc32c(data) == crc32c_py(data)


def test_without_google_crc32c_the_reference_is_used(monkeypatch):
    monkeypatch.setitem(sys.modules, "google_crc32c", None)  # import raises ImportError
    assert tfrecord._fast_crc32c() is None


def test_example_round_trip_with_every_kind():
    features = {"b": [b"x", b""], "i": [0, -1, 2**40], "f": [0.5, -2.0], "empty": []}
    assert decode_example(encode_example(features)) == features


@pytest.mark.parametrize("compress", [True, False])
def test_records_round_trip(tmp_path, compress):
    payloads = [b"one", b"", b"three" * 100]
    write_records(tmp_path / "r", payloads, compress=compress)
    assert list(iter_records(tmp_path / "r", verify_data=True)) == payloads


def test_truncated_and_corrupt_records(tmp_path):
    write_records(tmp_path / "r", [b"one", b"two"], compress=False)
    data = (tmp_path / "r").read_bytes()
    (tmp_path / "t").write_bytes(data[:-3])
    with pytest.raises(TFRecordError, match="record 1: truncated record"):
        list(iter_records(tmp_path / "t"))
    corrupt = bytearray(data)
    corrupt[13] ^= 1  # first payload byte
    (tmp_path / "c").write_bytes(bytes(corrupt))
    with pytest.raises(TFRecordError, match="record 0: data checksum mismatch"):
        list(iter_records(tmp_path / "c"))  # checked by default
    assert list(iter_records(tmp_path / "c", verify_data=False))[1] == b"two"


def test_a_corrupt_payload_in_a_gzip_file_is_rejected_by_default(tmp_path):
    # The gzip stream itself is intact (its own CRC matches): only the record's CRC notices.
    write_records(tmp_path / "plain", [b"a screenshot's bytes" * 50], compress=False)
    corrupt = bytearray((tmp_path / "plain").read_bytes())
    corrupt[12 + 500] ^= 0x40  # one bit in the middle of the payload
    (tmp_path / "g").write_bytes(gzip.compress(bytes(corrupt), mtime=0))
    with pytest.raises(TFRecordError, match="record 0: data checksum mismatch"):
        list(iter_records(tmp_path / "g"))


def test_garbage_is_not_an_example():
    with pytest.raises(ValueError):
        decode_example(b"\x0a\xff\xff")

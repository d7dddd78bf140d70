"""The TensorFlow-free TFRecord reader: CRC, proto round trips, framing errors."""

import pytest

from tracer1.data.importers.tfrecord import (
    TFRecordError,
    crc32c,
    decode_example,
    encode_example,
    iter_records,
    write_records,
)


def test_crc32c_check_value():
    assert crc32c(b"123456789") == 0xE3069283  # the standard CRC-32C check value


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
        list(iter_records(tmp_path / "c", verify_data=True))


def test_garbage_is_not_an_example():
    with pytest.raises(ValueError):
        decode_example(b"\x0a\xff\xff")

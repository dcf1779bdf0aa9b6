"""Reading the CSV files the detectors' commands are given: UTF-8 with or without a byte-order mark, or GBK."""

from __future__ import annotations

from pathlib import Path

import pytest

from aegis.training.task import DataError, read_csv

ROWS = "text,label\n您的快递丢失，请加微信理赔,冒充客服\n明天开会,正常\n"


@pytest.mark.parametrize(("encoding", "prefix"), [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("gbk", b""),
                                                  ("gb18030", b"")])
def test_each_encoding_reads_the_same_rows(tmp_path: Path, encoding: str, prefix: bytes) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes(prefix + ROWS.encode(encoding))
    frame = read_csv(path, dtype=str)
    assert frame.columns.tolist() == ["text", "label"]
    assert frame["label"].tolist() == ["冒充客服", "正常"]
    assert frame["text"].iloc[0] == "您的快递丢失，请加微信理赔"


def test_unreadable_files_name_the_file_and_the_reason(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.csv: no such file"):
        read_csv(tmp_path / "nope.csv")
    (tmp_path / "bad.csv").write_bytes(b"\xff\xfe\x00\x00text\n")
    with pytest.raises(DataError, match=r"bad\.csv: cannot be read as CSV: neither UTF-8 nor GBK text \(line 1: "):
        read_csv(tmp_path / "bad.csv")
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(DataError, match=r"empty\.csv: cannot be read as CSV \(No columns"):
        read_csv(tmp_path / "empty.csv")

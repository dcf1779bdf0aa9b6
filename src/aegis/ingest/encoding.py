"""Which text encoding a data file is in: UTF-8 (with or without a byte-order mark), or GBK / GB18030.

Chinese spreadsheets and many bank and telco exports are saved as GBK, which GB18030 contains. UTF-8 is tried
first because GB18030 decodes almost any bytes, so it can only be the fallback. Two candidates need no
detection library: a general detector guesses among dozens of code pages and still takes short GBK files for
others, while a file that decodes as UTF-8 from end to end is UTF-8 beyond reasonable doubt.

A file read as GBK may still hold lines pasted in as UTF-8, which GB18030 decodes without complaint into
mojibake ("中文" becomes "涓枃"); :func:`utf8_in_gbk` tells them apart.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

from aegis.reasons import Explained, Reason

UTF8, GBK = ENCODINGS = ("utf-8-sig", "gb18030")
"""tried in this order; ``utf-8-sig`` reads UTF-8 with or without a byte-order mark"""

CHUNK = 1 << 20

CHINESE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
"""a CJK ideograph (extension A, the unified block, the compatibility block)"""


class EncodingError(Explained, ValueError):
    """The file is neither UTF-8 nor GBK / GB18030 text."""


@dataclass(frozen=True)
class Undecodable:
    """Where a file first fails to decode: its line (from 1) and byte offset in the whole file (from 0)."""

    line: int
    byte: int
    reason: str
    text: bytes
    """the line's bytes"""

    def message(self) -> Reason:
        return Reason("第{line}行：{reason}，位于文件第{byte}字节", line=self.line, reason=self.reason, byte=self.byte)

    def __str__(self) -> str:
        return self.message().text("en")


def decodes(path: Path, encoding: str) -> bool:
    """Whether the whole file decodes in ``encoding`` (read in chunks, so memory stays flat)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with Path(path).open("rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK), b""):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def first_undecodable(path: Path, encoding: str) -> Undecodable | None:
    """The first line of the file that does not decode in ``encoding``, or None.

    Line by line, because a decoder's error counts bytes from the start of the chunk it was given. A newline
    byte is never part of a UTF-8 or GB18030 sequence, so each line decodes alone exactly as it does within
    the file. Slower than :func:`decodes`, so only called once a file is known not to decode.
    """
    offset = 0
    with Path(path).open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode(encoding)
            except UnicodeDecodeError as exc:
                return Undecodable(number, offset + exc.start, str(exc.reason), line)
            offset += len(line)
    return None


def text_encoding(path: Path) -> str:
    """The first of :data:`ENCODINGS` that decodes the whole file."""
    for encoding in ENCODINGS:
        if decodes(path, encoding):
            return encoding
    raise EncodingError(undecodable(path))


def undecodable(path: Path) -> Reason:
    """What is said of a file that none of :data:`ENCODINGS` decodes: where it stops being text in the one
    that reads furthest into it (a UTF-8 file with one bad byte fails as GBK at its first Chinese line)."""
    failures = [where for encoding in ENCODINGS if (where := first_undecodable(path, encoding)) is not None]
    furthest = max(failures, key=lambda where: where.byte, default=None)
    if furthest is None:
        return Reason("既不是UTF-8也不是GBK文本")
    return Reason("既不是UTF-8也不是GBK文本（{where}）", where=furthest.message())


def looks_gbk(line: bytes) -> bool:
    """Whether a line that is not UTF-8 reads as Chinese in GBK (almost any bytes decode as GB18030)."""
    try:
        return CHINESE.search(line.decode(GBK)) is not None
    except UnicodeDecodeError:
        return False


def utf8_in_gbk(text: str) -> str | None:
    """What ``text``, decoded from a GBK file, says if it was really UTF-8; None when it was GBK.

    GB18030 gives back the exact bytes it decoded, so the text's bytes are the file's. GBK Chinese is rarely
    valid UTF-8, and when it is, it mostly reads as Latin, Greek or Cyrillic letters rather than Chinese. Of
    100,000 random strings each of 1, 2 and 3 common (GB2312 level-1) characters, 18%, 3.4% and 0.6% are valid
    UTF-8 but none reads as a Chinese character (of 3 from all of GB2312, rare level-2 ones included, 8 in
    100,000 do); saved as GBK, no row of a simulated city's events, no line of the text corpus and none of the
    simulator's 122,500 two- and three-character names reads as Chinese UTF-8. So only a text whose UTF-8
    reading holds a Chinese character counts as UTF-8; one that holds only other non-ASCII letters (an
    accented name) is let through as GBK.
    """
    if text.isascii():
        return None
    try:
        read = text.encode(GBK).decode("utf-8")
    except UnicodeDecodeError:
        return None
    return read if CHINESE.search(read) else None

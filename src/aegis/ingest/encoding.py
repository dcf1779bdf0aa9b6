"""Which text encoding a data file is in: UTF-8 (with or without a byte-order mark), or GBK / GB18030.

Chinese spreadsheets and many bank and telco exports are saved as GBK, which GB18030 contains. UTF-8 is tried
first because GB18030 decodes almost any bytes, so it can only be the fallback. Two candidates need no
detection library: a general detector guesses among dozens of code pages and still takes short GBK files for
others, while a file that decodes as UTF-8 from end to end is UTF-8 beyond reasonable doubt.
"""

from __future__ import annotations

import codecs
from pathlib import Path

ENCODINGS = ("utf-8-sig", "gb18030")
"""tried in this order; ``utf-8-sig`` reads UTF-8 with or without a byte-order mark"""

CHUNK = 1 << 20


class EncodingError(ValueError):
    """The file is neither UTF-8 nor GBK / GB18030 text."""


def text_encoding(path: Path) -> str:
    """The first of :data:`ENCODINGS` that decodes the whole file (read in chunks, so memory stays flat)."""
    for encoding in ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with Path(path).open("rb") as handle:
                for chunk in iter(lambda: handle.read(CHUNK), b""):
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            failure = exc
            continue
        return encoding
    raise EncodingError(undecodable(failure))


def undecodable(failure: UnicodeDecodeError) -> str:
    """What is said of a file that the last of :data:`ENCODINGS` could not decode either."""
    return f"neither UTF-8 nor GBK text ({failure.reason} at byte {failure.start})"

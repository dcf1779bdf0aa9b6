"""Free text people write (an officer's note, a bank's reason) is kept as written, and shown so: what an auditor
reads of it is what the log keeps."""

from __future__ import annotations

import re

import pytest
from rich.console import Console

from aegis.cli.common import plain
from aegis.usecases import person_text

HIDING = [
    ("a\x1b[31mred\x07", "U+001B at character 2"),  # an escape sequence recolours (or erases) the terminal
    ("csi\x9b2J", "U+009B at character 4"),  # a C1 control, which some terminals read as an escape
    ("del\x7f", "U+007F at character 4"),
    ("paid \u202eeulav", "U+202E at character 6"),  # a bidi override shows the rest reversed
    ("\u2066isolated\u2069", "U+2066 at character 1"),
    ("139\u200b1234\u200b5678", "U+200B at character 4"),  # a zero-width space hides the number from masking
    ("card 6222\u200d0204", "U+200D at character 10"),
    ("soft\xadhyphen", "U+00AD at character 5"),
    ("bom\ufeff", "U+FEFF at character 4"),
    ("bad \udcff byte", "U+DCFF at character 5"),  # a byte the terminal could not decode
    ("tag\U000e0041", "U+E0041 at character 4"),  # invisible tag letters carry hidden text
]


@pytest.mark.parametrize(("written", "where"), HIDING)
def test_text_a_reader_would_not_see_as_written_is_refused_naming_the_field_and_the_character(
    written: str, where: str
) -> None:
    said = f"note: must not contain control or invisible characters ({where})"
    with pytest.raises(ValueError, match=f"^{re.escape(said)}$"):
        person_text("note", written)
    with pytest.raises(ValueError, match=r"^reason: must not contain control or invisible"):
        person_text("reason", f"  {written}  ", required=True)


def test_what_people_write_is_kept_lines_and_tabs_and_any_script_included() -> None:
    written = "说明了冒充公检法的套路，\n已劝阻（96110）\t👍 Ünïcode العربية 𠮷\u3000全角"
    assert person_text("note", f"  {written}\n") == written
    # the NUL keeps its own reason (PostgreSQL's text cannot hold it), as do blank and overlong text
    with pytest.raises(ValueError, match=r"^note: must not contain a NUL character$"):
        person_text("note", "a\x00b")
    with pytest.raises(ValueError, match=r"^reason: must not be blank$"):
        person_text("reason", " \n ", required=True)
    with pytest.raises(ValueError, match=r"^note: at most 500 characters"):
        person_text("note", "长" * 501)


def test_line_ends_of_web_forms_and_windows_read_as_newlines_and_a_leading_byte_order_mark_is_dropped() -> None:
    # a textarea sends CR LF; a lone CR would write over the line on a terminal, so it is a newline too
    assert person_text("reason", "账户已销户\r\n请联系开户行") == "账户已销户\n请联系开户行"
    assert person_text("note", "ok\rforged line") == "ok\nforged line"
    assert person_text("note", "\ufeff已劝阻") == "已劝阻"


def test_what_reaches_a_terminal_shows_each_hidden_character_by_its_escape_and_no_markup() -> None:
    console = Console(force_terminal=True, color_system="truecolor", width=200)
    for written in [w for w, _ in HIDING] + ["ok\rforged line"]:
        with console.capture() as captured:
            console.print(plain(written))
        shown = captured.get()
        assert shown.rstrip("\n").isprintable(), repr(shown)  # nothing for the terminal to act on
        assert written not in shown
    with console.capture() as captured:
        console.print(plain("a\x1b[31mred\x07 \u202eevil\nnext [/x] [conceal]hidden[/conceal]"))
    assert captured.get() == "a\\x1b[31mred\\x07 \\u202eevil\nnext [/x] [conceal]hidden[/conceal]\n"
    assert plain("a\tb").plain == "a\tb"  # the layout people wrote stays


def test_a_line_said_shows_its_values_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    from aegis.cli.common import say
    from aegis.reasons import Reason

    say("en", Reason.literal("store: var/[/x]\x1b[2J.db"))  # a path or a name from the store, not markup
    assert capsys.readouterr().out == "store: var/[/x]\\x1b[2J.db\n"

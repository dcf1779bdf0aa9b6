"""The shell around the use cases: output cut short by a reader that stops early, `aegis simulate`'s folder, and
the Makefile's targets."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from aegis.cli.main import app
from aegis.store import open_engine

ROOT = Path(__file__).parents[1]


def _unread(*args: str) -> subprocess.CompletedProcess[bytes]:
    """Run ``aegis ARGS`` with its stdout a pipe whose reader has gone (as `| head` leaves it once it has read
    enough)."""
    child = subprocess.Popen([sys.executable, "-m", "aegis.cli.main", *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    assert child.stdout is not None
    child.stdout.close()  # long before the command, still importing, writes anything
    _, stderr = child.communicate(timeout=120)
    return subprocess.CompletedProcess(child.args, child.returncode, b"", stderr)


def test_output_into_a_closed_pipe_ends_quietly_as_unix_tools_do(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    open_engine(url).dispose()
    # JSON (print) and a table (rich) alike: exit 141 (128 + SIGPIPE), nothing on stderr
    for args in (["audit", "--user", "c", "--role", "city_centre", "--db", url, "--json"],
                 ["schemas", "--out", str(tmp_path / "schemas")]):
        done = _unread(*args)
        assert (done.returncode, done.stderr.decode()) == (141, ""), args


def test_simulate_refuses_a_folder_that_holds_files_unless_forced(tmp_path: Path) -> None:
    city = ["simulate", "--people", "150", "--days", "1", "--out"]
    kept = tmp_path / "mine"
    kept.mkdir()
    (kept / "notes.txt").write_text("mine")
    refused = CliRunner().invoke(app, [*city, str(kept)])
    assert refused.exit_code == 2 and refused.stderr == (
        f"错误：--out：{kept}不是空的（其中的城市会被覆盖：要覆盖请加 --force，或换一个文件夹）\n")
    assert [p.name for p in kept.iterdir()] == ["notes.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()  # an empty folder made for it (mktemp -d) is fine
    assert CliRunner().invoke(app, [*city, str(empty)]).exit_code == 0
    again = CliRunner().invoke(app, [*city, str(empty), "--force"])
    assert again.exit_code == 0 and (empty / "manifest.json").is_file(), again.output
    (tmp_path / "file").write_text("")
    assert "是文件，此处需要文件夹" in CliRunner().invoke(app, [*city, str(tmp_path / "file")]).stderr


def test_every_phony_target_of_the_makefile_is_a_target() -> None:
    makefile = (ROOT / "Makefile").read_text()
    phony = re.search(r"^\.PHONY:(.*)$", makefile, re.MULTILINE)
    assert phony is not None
    missing = [t for t in phony.group(1).split() if not re.search(rf"^{re.escape(t)}:", makefile, re.MULTILINE)]
    assert missing == []

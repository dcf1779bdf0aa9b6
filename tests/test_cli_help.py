"""Every ``aegis`` command and option says what it is for, and ``--help`` works for each."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from typer.main import get_command
from typer.testing import CliRunner

from aegis.cli.main import app


def _commands(command: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from _commands(sub, [*path, name])
    else:
        yield path, command


def test_every_command_and_option_has_help_text() -> None:
    found = list(_commands(get_command(app), []))
    assert len(found) >= 25  # the detectors, decide, demo, the warnings and funds workflows ...
    undocumented = [" ".join(path) for path, command in found if not (command.help or "").strip()]
    undocumented += [f"{' '.join(path)} --{p.name}" for path, command in found for p in command.params
                     if getattr(p, "param_type_name", "") == "option" and not (getattr(p, "help", "") or "").strip()]
    assert undocumented == []
    runner = CliRunner()
    for path, _ in found:
        shown = runner.invoke(app, [*path, "--help"])
        assert shown.exit_code == 0 and "Usage" in shown.output, path


def test_numbers_beyond_any_sense_are_refused_by_name_not_with_a_traceback(tmp_path) -> None:
    # 1e308 days overflowed a timedelta, and a hop limit of 10^20 the database's integer
    store = f"sqlite:///{tmp_path / 'none.db'}"
    for args, said in ((["profiles", "refresh", "--days", "1e308"], "错误：--days：须在0到36500之间"),
                       (["warnings", "raise", "--user", "c", "--role", "city_centre", "--days", "1e6"],
                        "错误：--days：须在0到36500之间"),
                       (["funds", "chase", "--report", "r", "--max-hops", "99999999999999999999"],
                        "Invalid value for '--max-hops'")):
        refused = CliRunner().invoke(app, [*args, "--db", store])
        assert refused.exit_code == 2 and said in refused.output, refused.output
        assert refused.exception is None or isinstance(refused.exception, SystemExit)


def test_an_unknown_kind_to_evaluate_names_the_detectors_and_the_workflows() -> None:
    refused = CliRunner().invoke(app, ["evaluate", "bogus"])
    assert refused.exit_code == 2
    assert "不在text、number、url、account（检测器）或warnings、funds（业务流程）之中" in refused.output
    english = CliRunner().invoke(app, ["evaluate", "bogus", "--lang", "en"])
    assert "is not one of text, number, url, account (detectors) or warnings, funds (workflows)" in english.output


def test_help_states_the_limits_and_fallbacks_the_commands_enforce() -> None:
    """--days showed [x>=1] where 366 is the most, --db promised $AEGIS_DATABASE_URL where var/aegis.db is the
    fallback, and funds show offered a bank a --role it always refuses."""
    found = dict((" ".join(path), command) for path, command in _commands(get_command(app), []))

    def help_of(command: str, option: str) -> str:
        return " ".join(next(p.help for p in found[command].params if p.name == option).split())

    assert "1 to 366" in help_of("simulate", "days") and "2 to 366" in help_of("demo", "days")
    assert "2,000,000" in help_of("simulate", "people") and "2,000,000" in help_of("demo", "people")
    assert "0 to 10000" in help_of("simulate", "victims")
    assert "1 to 10000" in help_of("audit", "limit")
    for command, params in found.items():
        for p in params.params:
            if p.name == "db":
                assert "else sqlite:///var/aegis.db" in p.help, command
    for command in ("funds show", "funds reports", "funds escalate", "funds return"):
        assert "or bank" not in help_of(command, "role") and "city_centre" in help_of(command, "role")
    assert "bank" in help_of("funds orders list", "role")

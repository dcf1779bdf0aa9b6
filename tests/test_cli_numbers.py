"""Numbers that are not numbers: ``nan``, ``inf`` and ``-inf`` read as floats (as ``float()`` reads them), wherever a
command, a policy file or the API takes a float. Each is refused, naming the option or field and saying that a
finite number is needed, not read as a number that slips past every comparison (NaN is neither above nor below a
threshold) or stands for "never" (an infinite pace, an infinite large-payment line)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.main import get_command
from typer.testing import CliRunner

from aegis.cli.main import app
from aegis.decisions.policy import PolicyError
from aegis.decisions.policy import load_policy as load_decisions
from aegis.decisions.warning_policy import default_policy_path
from aegis.decisions.warning_policy import load_policy as load_warnings

runner = CliRunner()
CHINESE = re.compile(r"[\u4e00-\u9fff]")

FLOAT_OPTIONS: dict[tuple[str, ...], list[str]] = {
    ("profiles", "refresh", "--days"): [],
    ("warnings", "raise", "--days"): ["--user", "c", "--role", "city_centre"],
    ("warnings", "pace", "--quantile"): ["--user", "c", "--role", "city_centre"],
    ("simulate", "--victims-per-10k-day"): ["--people", "150", "--days", "1"],
}
"""every float option of the CLI, with what else its command needs to get as far as reading it"""


def _float_options() -> set[tuple[str, ...]]:
    def walk(command: Any, path: list[str]) -> Any:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                yield from walk(sub, [*path, name])
        else:
            yield path, command

    return {(*path, param.opts[0]) for path, command in walk(get_command(app), [])
            for param in command.params if float in (param.type_descriptor.annotation,
                                                     *getattr(param.type_descriptor.annotation, "__args__", ()))}


def test_every_float_option_is_checked_here() -> None:
    assert _float_options() == set(FLOAT_OPTIONS)


@pytest.mark.parametrize("option", sorted(FLOAT_OPTIONS))
@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "-Infinity"])
def test_a_float_option_refuses_a_number_that_is_not_finite(tmp_path: Path, option: tuple[str, ...], value: str
                                                            ) -> None:
    *command, name = option
    args = [*command, *FLOAT_OPTIONS[option], name, value, "--db" if command[0] != "simulate" else "--out",
            f"sqlite:///{tmp_path / 'none.db'}" if command[0] != "simulate" else str(tmp_path / "city")]
    said = {}
    for lang in ("zh", "en"):
        result = runner.invoke(app, [*args, "--lang", lang])
        assert result.exit_code == 2, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        said[lang] = result.stderr
    shown = f"{float(value):g}"
    assert said["en"] == f"error: {name}: must be a finite number (got {shown})\n"
    assert said["zh"] == f"错误：{name}：须为有限的数（收到{shown}）\n"
    assert not (tmp_path / "none.db").exists() and not (tmp_path / "city").exists()


def test_a_range_is_still_checked_and_said_in_the_commands_language(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'none.db'}"
    english = runner.invoke(app, ["profiles", "refresh", "--days", "-1", "--db", store, "--lang", "en"])
    assert (english.exit_code, english.stderr) == (2, "error: --days: must be from 0 to 36500 (got -1)\n")
    chinese = runner.invoke(app, ["warnings", "pace", "--user", "c", "--role", "city_centre", "--quantile", "1",
                                  "--db", store])
    assert (chinese.exit_code, chinese.stderr) == (2, "错误：--quantile：须在0.01到0.99之间（收到1）\n")


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_a_warnings_policy_refuses_a_rule_or_pace_that_is_not_finite(tmp_path: Path, value: str) -> None:
    """A rule's minimum of .nan never held (the rule was off without a word), a pace of .inf handed every sure
    warning of its type to the least severe level."""
    base = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    rule = {**base, "rules": [{"name": "x", "all": {"p_sms": value}, "level": "urgent"}]}
    paced = {**base, "pace": {"hours": {"impersonate_police": value}}}
    for policy, field in ((rule, "rules.0.all.p_sms"), (paced, "pace.hours.impersonate_police")):
        path = tmp_path / "w.yaml"
        path.write_text(yaml.safe_dump(policy, allow_unicode=True).replace(f"'{value}'", value), encoding="utf-8")
        with pytest.raises(PolicyError, match=rf": {re.escape(field)}: Input should be a finite number$"):
            load_warnings(path)


def test_a_decisions_policy_refuses_an_infinite_large_payment(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    thresholds = "{block: 0.9, warn: 0.5}"
    path.write_text(f'version: "x"\nchannels: {{sms: {thresholds}, call: {thresholds}, url: {thresholds}, '
                    f"transfer: {thresholds}}}\ntransfer_new_payee_large_amount: .inf\n", encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_decisions(path)
    assert str(info.value) == "d.yaml: transfer_new_payee_large_amount: Input should be a finite number"
    path.write_text(path.read_text(encoding="utf-8").replace("block: 0.9, warn: 0.5}}", "block: .nan, warn: 0.5}}"),
                    encoding="utf-8")
    with pytest.raises(PolicyError, match=r"^d\.yaml: channels\.transfer\.block: Input should be a finite number$"):
        load_decisions(path)


def test_a_funds_policy_refuses_a_share_or_a_bank_pace_that_is_not_finite(tmp_path: Path) -> None:
    from aegis.actions.orders import default_policy_path as funds_policy_path
    from aegis.actions.orders import load_policy as load_funds

    base = yaml.safe_load(funds_policy_path().read_text(encoding="utf-8"))
    for changed, field in (({"min_taint_share": float("nan")}, "min_taint_share"),
                           ({"simulated_bank": {"response_minutes": {"freeze": float("inf")}}},
                            "simulated_bank.response_minutes.freeze")):
        path = tmp_path / "f.yaml"
        path.write_text(yaml.safe_dump({**base, **changed}, allow_unicode=True), encoding="utf-8")
        with pytest.raises(PolicyError, match=rf": {re.escape(field)}: Input should be a finite number$"):
            load_funds(path)


def test_the_api_refuses_a_quantile_that_is_not_finite(tmp_path: Path) -> None:
    from aegis.api.app import create_app
    from aegis.store import open_engine

    client = TestClient(create_app(open_engine(f"sqlite:///{tmp_path / 'a.db'}")))
    headers = {"X-Aegis-User": "c", "X-Aegis-Role": "city_centre"}
    for value in ("nan", "inf", "-inf"):
        answer = client.get(f"/api/v1/warnings/pace?quantile={value}", headers=headers)
        assert answer.status_code == 422, answer.text
        detail = answer.json()["detail"][0]
        assert detail["loc"] == ["query", "quantile"] and detail["msg"] == "Input should be a finite number"

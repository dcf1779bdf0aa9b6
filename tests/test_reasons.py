"""Reasons as messages: every message has its English, stored reasons read back in either language."""

from __future__ import annotations

import json
import string
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from babel.messages.extract import extract_from_dir

import aegis
from aegis.reasons import Reason, _catalogue, as_reason, joined, loaded, parse_lang, render, stored, yuan

PACKAGE = Path(aegis.__file__).parent


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def _messages() -> dict[str, str]:
    """Every ``Reason("...")`` literal of the package, with where it is written."""
    found = extract_from_dir(str(PACKAGE), method_map=[("**.py", "python")], keywords={"Reason": None},
                             comment_tags=(), options_map={"**.py": {"encoding": "utf-8"}})
    return {str(msg): f"{path}:{line}" for path, line, msg, _, _ in found}


def test_every_message_of_the_package_has_its_english_with_the_same_fields() -> None:
    messages, english = _messages(), _catalogue("en")
    assert len(messages) > 60  # the extractor found the detectors', decisions' and orders' reasons
    missing = {m: where for m, where in messages.items() if m not in english}
    assert not missing, f"add these to aegis/data/messages/en.po: {missing}"
    wrong = {m: english[m] for m in messages if _fields(english[m]) != _fields(m)}
    assert not wrong, f"translations whose fields differ from their message: {wrong}"
    unused = set(english) - set(messages)
    assert not unused, f"messages no code uses any more: {unused}"


def test_a_reason_reads_in_both_languages_with_nested_parts() -> None:
    inner = Reason("外呼占比{out_share:.0%}、回拨率{callback:.0%}", out_share=np.float64(0.97), callback=0.01)
    reason = Reason("{source}：{reason}", source=Reason("主叫号码"), reason=inner)
    assert str(reason) == "主叫号码：外呼占比97%、回拨率1%"
    assert reason.text("en") == "caller number: 97% of calls outgoing, call-back rate 1%"
    assert type(inner.args["out_share"]) is float  # numpy scalars are stored as plain numbers


def test_stored_reasons_round_trip_through_json_and_old_text_reads_as_written() -> None:
    reason = Reason("{source}：{reason}", source=Reason("收款账户"),
                    reason=Reason("向{n}个不同账户分散转出", n=25))
    column = json.loads(json.dumps(stored([reason, "银行：账户已销户"])))
    assert column[0]["text"] == "收款账户：向25个不同账户分散转出"  # readable in SQL as it is
    back = loaded(column)
    assert back[0] == reason and hash(back[0]) == hash(reason)
    assert render(column, "en") == ["payee account: pays out to 25 different accounts", "银行：账户已销户"]
    # rows written before reasons were messages hold plain strings: they read as written, in any language
    assert render(["一个IMEI上有12个IMSI（疑似猫池）"], "en") == ["一个IMEI上有12个IMSI（疑似猫池）"]
    assert as_reason("备注") == Reason.literal("备注") != Reason("备注")


def test_a_value_that_is_no_reason_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="reason: 42"):
        Reason.from_json(42)


@pytest.mark.parametrize(("header", "lang"), [
    ("en", "en"), ("en-US,en;q=0.9", "en"), ("zh-CN,zh;q=0.9,en;q=0.8", "zh"), ("fr-FR, en;q=0.5", "en"),
    ("fr", "zh"), ("", "zh"), (None, "zh"),
])
def test_the_language_comes_from_the_first_supported_tag(header: str | None, lang: str) -> None:
    assert parse_lang(header) == lang


def test_fraud_types_have_names_for_people_in_both_languages() -> None:
    from aegis.events import FRAUD_TYPE_NAMES, FraudType, fraud_type_name

    assert set(FRAUD_TYPE_NAMES) == set(FraudType)
    assert fraud_type_name("fake_loan") == "虚假贷款/征信"
    assert fraud_type_name("fake_loan", "en") == "fake loans / credit repair"
    assert fraud_type_name("冒充客服服务", "en") == "冒充客服服务"  # a training set's own label, as written
    assert fraud_type_name(None) is None
    # the account detector's risk is named too, not shown as its code
    assert fraud_type_name("money_mule", "en") == "money-mule account (laundering runner, cash-out)"


@pytest.mark.parametrize(("amount", "text"), [(Decimal("50"), "50.00"), (106.25, "106.25"), ("52000.5", "52,000.50"),
                                              (Decimal("0.005"), "0.01"), (3, "3.00")])
def test_amounts_read_alike_to_the_fen_with_thousands_grouped(amount: object, text: str) -> None:
    assert yuan(amount) == text  # type: ignore[arg-type]
    assert text in Reason("已冻结{amount}元", amount=yuan(amount)).text("en")


def test_reasons_on_one_line_take_the_separator_of_their_language() -> None:
    assert joined(["甲", "乙"]) == "甲；乙" and joined(["a", "b"], "en") == "a; b"


def test_an_explained_error_speaks_both_languages_and_is_english_to_str() -> None:
    from aegis.reasons import Explained, error_text

    class Refused(Explained, ValueError):
        pass

    error = Refused(Reason("held：指令{order}的金额须在(0, {requested}]之内", order="OR-1", requested="10.00"))
    assert str(error) == "held: order OR-1 needs an amount in (0, 10.00]" == error_text(error, "en")
    assert error.text() == "held：指令OR-1的金额须在(0, 10.00]之内" == error_text(error, "zh")
    assert isinstance(error, ValueError) and error_text(ValueError("as written"), "zh") == "as written"
    assert str(Refused("a plain message")) == "a plain message" == Refused("a plain message").text("zh")

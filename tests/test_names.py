"""Codes have names people read: every audit action code the package writes has one, in both languages."""

from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path

import aegis
from aegis.actions.orders import OrderKind, OrderState
from aegis.decisions.policy import Action
from aegis.names import ACTION_NAMES, action_name, action_named

PACKAGE = Path(aegis.__file__).parent

#: the values each placeholder of an action code written as an f-string takes, by the expression in its braces
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "channel": ("sms", "call", "url", "transfer"),  # the channels aegis.usecases.decisions decides on
    "action.value": tuple(Action),
    "kind.value": tuple(OrderKind),
    "order.kind": tuple(OrderKind),
    "target.value": tuple(OrderState),
    "action": ("take", "contact", "close"),  # the steps of a warning aegis.usecases.warnings takes (_step)
}


def _written(node: ast.expr) -> str | None:
    """A string or f-string as written, ``{expression}`` for each placeholder; None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else "{" + ast.unparse(part.value) + "}"
                       for part in node.values if isinstance(part, ast.Constant | ast.FormattedValue))
    return None


def _action_codes() -> dict[str, str]:
    """Every audit action code written in the package, with where: what is given as ``action=`` or as a dict's
    ``"action"``, and what is passed where a function of the package takes a parameter ``action``. A code has a
    dot (``warning.raise``), which tells it from argparse's ``action="append"`` and a step's ``"take"``."""
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in PACKAGE.rglob("*.py")}
    takes_action = {node.name: [a.arg for a in node.args.args].index("action") for tree in trees.values()
                    for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                    and "action" in [a.arg for a in node.args.args]}
    found: dict[str, str] = {}
    for path, tree in trees.items():
        for node in ast.walk(tree):
            given: list[ast.expr] = []
            if isinstance(node, ast.Call):
                given += [k.value for k in node.keywords if k.arg == "action"]
                called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
                at = takes_action.get(called) if called else None
                if at is not None and isinstance(node.func, ast.Attribute):
                    at -= 1  # a method: self is not among the call's arguments
                if at is not None and 0 <= at < len(node.args):
                    given.append(node.args[at])
            elif isinstance(node, ast.Dict):
                given += [v for k, v in zip(node.keys, node.values, strict=True)
                          if isinstance(k, ast.Constant) and k.value == "action"]
            for value in given:
                code = _written(value)
                if code and "." in code:
                    found[code] = f"{path.relative_to(PACKAGE)}:{value.lineno}"
    return found


def _expanded(code: str) -> list[str]:
    """A code written with placeholders as every code it stands for."""
    fields = re.findall(r"\{([^}]+)\}", code)
    unknown = [f for f in fields if f not in PLACEHOLDERS]
    assert not unknown, f"{code}: tell PLACEHOLDERS (tests/test_names.py) the values of {unknown}"
    template = re.sub(r"\{[^}]+\}", "{}", code)
    return [template.format(*values) for values in itertools.product(*(PLACEHOLDERS[f] for f in fields))]


def test_every_audit_action_code_written_in_the_package_has_a_name() -> None:
    written = _action_codes()
    # the scan finds the codes of decisions, warnings, chases, orders, banks' posts and the log's own reads
    assert {"warning.raise", "warning.{action}", "chase.open", "bank_contact.load", "audit.read",
            "decision.{channel}.{action.value}", "order.{kind.value}.issued"} <= set(written)
    codes = {code: where for written_code, where in written.items() for code in _expanded(written_code)}
    missing = {code: where for code, where in codes.items() if action_named(code) is None}
    assert not missing, f"give these audit actions a name in aegis.names.ACTION_NAMES: {missing}"
    unused = set(ACTION_NAMES) - {_entry(code) for code in codes}
    assert not unused, f"action names no code uses any more: {unused}"


def _entry(code: str) -> str | None:
    """The entry of ACTION_NAMES that names ``code``: the code itself, or a pattern (``order.{kind}.{state}``)."""
    if code in ACTION_NAMES:
        return code
    return next((entry for entry in ACTION_NAMES
                 if re.fullmatch(re.sub(r"\\\{\w+\\\}", r"[^.]+", re.escape(entry)), code)), None)


def test_an_action_reads_by_its_name_in_either_language_and_an_unknown_one_as_written() -> None:
    assert action_name("decision.sms.block") == "短信拦截"
    assert action_name("decision.transfer.warn", "en") == "transfer: warn"
    assert action_name("order.stop_payment.moved_on") == "止付指令已转出"
    assert action_name("order.freeze.issued", "en") == "freeze order issued"
    assert action_name("warning.close", "en") == "close a warning"
    # a part without a name leaves the whole code as written, not half a name
    assert action_name("order.seize.issued") == "order.seize.issued"
    assert action_name("something.new", "en") == "something.new"

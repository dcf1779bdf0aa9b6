"""The names people read for Aegis's codes: warning levels, statuses, queues and outcomes, contact channels,
decision actions, order kinds and states, where traced money stops, kinds of event and of entity profiled, and
what each entry of the audit log records (its action).

The codes themselves stay as they are in the store, the API's JSON and the policy files (machines read those);
a screen or a table shows :func:`name_of` the code, Chinese by default and English on request, through the same
message catalogue as the reasons (:mod:`aegis.reasons`). Fraud types have their own names beside their codes
(:func:`aegis.events.fraud_type_name`).

>>> name_of("urgent"), name_of("moved_on", "en"), name_of("no_such_code")
('紧急', 'moved on', 'no_such_code')
>>> action_name("decision.sms.block"), action_name("order.freeze.issued", "en"), action_name("audit.read", "en")
('短信拦截', 'freeze order issued', 'read the audit log')
"""

from __future__ import annotations

import re

from aegis.reasons import DEFAULT_LANG, Lang, Reason

CODE_NAMES: dict[str, Reason] = {
    # warning levels (分级预警), most severe first
    "urgent": Reason("紧急"),
    "high": Reason("高"),
    "medium": Reason("中"),
    "low": Reason("低"),
    # a warning's path through dissuasion
    "new": Reason("待接收"),
    "assigned": Reason("已接收"),
    "contacted": Reason("已联系"),
    "locating": Reason("查找中"),
    "closed": Reason("已办结"),
    # whose queue a warning is in (三级联动)
    "station": Reason("派出所"),
    "district": Reason("分局"),
    "city": Reason("市反诈中心"),
    # how a warning ended
    "dissuaded": Reason("劝阻成功"),
    "already_defrauded": Reason("已被骗"),
    "false_alarm": Reason("误报"),
    # the steps of a warning's work (as a refusal names them)
    "take": Reason("签收"),
    "contact": Reason("联系当事人"),
    "close": Reason("办结"),
    # how a contact attempt went
    "reached": Reason("已联系上"),
    "unreachable": Reason("未联系上"),
    # channels: of a contact with a person, and of a real-time decision
    "sms": Reason("短信"),
    "call": Reason("电话"),
    "visit": Reason("上门"),
    "url": Reason("网址"),
    "transfer": Reason("转账"),
    # real-time decisions
    "block": Reason("拦截"),
    "warn": Reason("提醒"),
    "pass": Reason("放行"),
    # stop-payment and freeze orders (止付冻结)
    "stop_payment": Reason("止付"),
    "freeze": Reason("冻结"),
    "issued": Reason("已下发"),
    "acknowledged": Reason("银行已签收"),
    "executed": Reason("已执行"),
    "rejected": Reason("已拒绝"),
    "moved_on": Reason("已转出"),
    "released": Reason("已解除"),
    "superseded": Reason("已由冻结接续"),
    "returned": Reason("已返还"),
    "expired": Reason("已到期"),
    # a bank's duty posts for orders
    "stop_payment_duty": Reason("止付值班"),
    "freeze_officer": Reason("冻结查控"),
    # where traced money stops (sinks)
    "cash_out": Reason("取现"),
    "crypto_exchange": Reason("虚拟币交易所"),
    "large_merchant": Reason("大型商户"),
    "foreign_currency": Reason("外币转出"),
    "sink": Reason("资金出口"),
    # kinds of event (those not named above)
    "person": Reason("人员"),
    "sim_opening": Reason("开卡"),
    "account_opening": Reason("开户"),
    "url_visit": Reason("网址访问"),
    "app_install": Reason("应用安装"),
    "report": Reason("报案"),
    # what the detectors profile (and the text detector reads)
    "text": Reason("文本"),
    "number": Reason("号码"),
    "account": Reason("账户"),
    "domain": Reason("域名"),
}

#: what an entry of the audit log is about (its ``subject_type``), by code: the entities decided on (see above)
#: and the records of Aegis's workflows. The log refuses an entry of any other kind
#: (:class:`aegis.store.AuditLog`), and a reader's filter names one of these, so a mistyped kind is told, not
#: answered with an empty log.
SUBJECT_NAMES: dict[str, Reason] = {
    "number": CODE_NAMES["number"],
    "account": CODE_NAMES["account"],
    "domain": CODE_NAMES["domain"],
    "person": Reason("人员"),
    "warning": Reason("预警"),
    "fund_chase": Reason("资金追查"),
    "fund_order": Reason("止付冻结指令"),
    "report": Reason("报案"),
    "bank_contact": Reason("银行值班岗位"),
    "audit_log": Reason("审计日志"),
    "model": Reason("模型"),
}


def named(code: str) -> Reason:
    """The name of ``code`` as a message (to go inside another message); a code without a name as written."""
    return CODE_NAMES.get(str(code)) or Reason.literal(str(code))


def name_of(code: str | None, lang: Lang = DEFAULT_LANG) -> str:
    """The name of ``code`` in ``lang``; a code without a name is shown as written."""
    if code is None:
        return ""
    name = CODE_NAMES.get(str(code))
    return name.text(lang) if name is not None else str(code)


#: what an entry of the audit log records, by its action code. A ``{field}`` part is any code of its place (a
#: decision's channel and action, an order's kind and state), named by its own name above;
#: tests/test_names.py finds every action code written in the package and fails on one without a name here.
ACTION_NAMES: dict[str, Reason] = {
    # a real-time decision that blocked or warned, or passed a payment weighed against its payer's warning
    "decision.{channel}.{action}": Reason("{channel}{action}"),
    # warnings and dissuasion
    "warning.raise": Reason("生成预警"),
    "warning.update": Reason("更新预警"),
    "warning.take": Reason("签收预警"),
    "warning.contact": Reason("联系当事人"),
    "warning.close": Reason("办结预警"),
    "warning.escalate": Reason("预警升级"),
    "model.retrain": Reason("重新训练预警模型"),
    # funds: chases, orders as issued and as answered, the banks' duty posts
    "chase.open": Reason("开启资金追查"),
    "chase.retrace": Reason("重新追查资金"),
    "chase.add_losses": Reason("追查补充损失"),
    "order.{kind}.{state}": Reason("{kind}指令{state}"),
    "bank_contact.load": Reason("载入银行值班岗位"),
    # officers shown personal data (a read that showed none, a system job's or a masked reader's is not logged)
    "warning.list": Reason("查看预警列表"),
    "warning.read": Reason("查看预警详情"),
    "chase.read": Reason("查看资金追查"),
    "order.list": Reason("查看止付冻结指令"),
    "report.list": Reason("查看报案列表"),
    # the log itself
    "audit.read": Reason("查阅审计日志"),
}


def _pattern(code: str) -> re.Pattern[str]:
    """``order.{kind}.{state}`` as a pattern that matches ``order.freeze.issued``, a group for each field."""
    return re.compile(r"\.".join(f"(?P<{part[1:-1]}>[^.]+)" if part.startswith("{") else re.escape(part)
                                  for part in code.split(".")))


_ACTION_PATTERNS = [(_pattern(code), name) for code, name in ACTION_NAMES.items() if "{" in code]


def action_named(code: str) -> Reason | None:
    """The name of an audit action code as a message; None if it, or a part of it, has no name."""
    if code in ACTION_NAMES:
        return ACTION_NAMES[code]
    for pattern, name in _ACTION_PATTERNS:
        found = pattern.fullmatch(code)
        if found and all(part in CODE_NAMES for part in found.groupdict().values()):
            return Reason(name.msg, **{field: CODE_NAMES[part] for field, part in found.groupdict().items()})
    return None


def action_name(code: str, lang: Lang = DEFAULT_LANG) -> str:
    """The name of an audit action code in ``lang``; a code without a name is shown as written."""
    name = action_named(code)
    return name.text(lang) if name is not None else code

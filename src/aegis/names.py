"""The names people read for Aegis's codes: warning levels, statuses, queues and outcomes, contact channels,
decision actions, order kinds and states, where traced money stops, kinds of event and of entity profiled.

The codes themselves stay as they are in the store, the API's JSON and the policy files (machines read those);
a screen or a table shows :func:`name_of` the code, Chinese by default and English on request, through the same
message catalogue as the reasons (:mod:`aegis.reasons`). Fraud types have their own names beside their codes
(:func:`aegis.events.fraud_type_name`).

>>> name_of("urgent"), name_of("moved_on", "en"), name_of("no_such_code")
('紧急', 'moved on', 'no_such_code')
"""

from __future__ import annotations

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
    # what the detectors profile
    "number": Reason("号码"),
    "account": Reason("账户"),
    "domain": Reason("域名"),
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

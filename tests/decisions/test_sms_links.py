"""How an SMS decision weighs the links in a message: each distinct link once, the riskiest of them as one
piece of evidence, and a message padded with more links than are scored warned for that."""

from __future__ import annotations

from sqlalchemy import Engine

from aegis.events.urls import MAX_LINKS
from aegis.usecases.actor import SYSTEM
from aegis.usecases.decisions import STUFFED_SCORE, Decider, SmsIn


def _decide(engine: Engine, *texts: str) -> list:
    decider = Decider(engine, SYSTEM, record=False)
    return decider.sms([SmsIn(request_id=f"r{i}", sender="13900000001", text=t) for i, t in enumerate(texts)])


def test_copies_of_a_genuine_link_do_not_push_a_look_alike_out_of_the_links_scored(sqlite_engine: Engine) -> None:
    alone, padded = _decide(sqlite_engine, "看看 icbc-pay.com",
                            "看看 " + " ".join(["www.icbc.com.cn"] * (MAX_LINKS + 3)) + " icbc-pay.com")
    assert (alone.request_id, padded.request_id) == ("r0", "r1")  # answers name their requests
    assert alone.action.value == padded.action.value != "pass"
    assert padded.score == alone.score and padded.reasons == alone.reasons


def test_more_distinct_links_than_are_scored_warn_by_that_alone(sqlite_engine: Engine) -> None:
    hosts = " ".join(f"www.shop{i}.com" for i in range(MAX_LINKS))
    within, beyond = _decide(sqlite_engine, f"看看 {hosts}", f"看看 {hosts} www.shop9.com")
    assert beyond.score >= STUFFED_SCORE and beyond.action.value != "pass"
    assert f"含{MAX_LINKS + 1}个不同链接（逐一评估前{MAX_LINKS}个）" in beyond.reasons
    assert not any("不同链接" in r for r in within.reasons)


def test_two_short_links_weigh_as_their_riskiest_not_as_two_independent_signs(sqlite_engine: Engine) -> None:
    one, two = _decide(sqlite_engine, "视频 t.cn/A6xYz9 你看看", "两个视频 t.cn/A6xYz9 和 t.cn/B7yZa0 你看看")
    assert one.action.value == two.action.value == "warn"
    assert two.score == one.score


def test_a_link_to_an_ipv6_address_or_a_chinese_domain_is_scored_like_any_other(sqlite_engine: Engine) -> None:
    """Only the scheme of these links was found ("http://", which the URL detector passed): an IPv6 host is scored as
    an IPv4 host is, a Chinese domain in punycode as a browser sends it."""
    four, six, chinese = _decide(sqlite_engine, "账户异常，请登录 http://10.1.2.3/a 核实",
                                 "账户异常，请登录 http://[2001:db8::1]/a 核实",
                                 "账户异常，请登录 http://例子.中国/a 核实")
    assert four.action.value == six.action.value == "block" and abs(six.score - four.score) < 0.01
    assert "网址 http://[2001:db8::1]/a：使用IP地址作为主机名" in six.reasons
    assert chinese.action.value != "pass" and any(r.startswith("网址 http://例子.中国/a：") for r in chinese.reasons)

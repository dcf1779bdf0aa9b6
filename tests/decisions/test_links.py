"""Finding the links in an SMS: each link whole and no more, in time proportional to the text's length."""

from __future__ import annotations

import time

import pytest

from aegis.events.urls import find_links as _urls


@pytest.mark.parametrize(("text", "links"), [
    ("您的ETC已失效，请登录 http://etc-gov.top/a1 认证", ["http://etc-gov.top/a1"]),
    ("积分兑换 http://icbc-ic.xyz/q 和 www.cmb-vip.cc/k 今日截止", ["http://icbc-ic.xyz/q", "www.cmb-vip.cc/k"]),
    ("登录icbc-vip.com.cn/pay，逾期", ["icbc-vip.com.cn/pay"]),
    ("见abc.comx.b.cn。", ["abc.comx.b.cn"]),  # a label that only begins with a top-level domain
    ("abc.com.foo", ["abc.com"]),
    ("xwww.a.b 和 a.bwww.c", ["www.a.b", "www.c"]),  # "www." counts inside a word, as it did
    ("A.B.COM/x.", ["A.B.COM/x"]),
    (" ".join(f"s{i}.top" for i in range(9)), [f"s{i}.top" for i in range(5)]),  # the first five
    ("x" * 3000 + ".com", ["x" * 3000 + ".com"]),
    # a link ends where its ASCII does: the Chinese written straight after it is not its path
    ("点击https://u.10010.cn/qAE9U立即参与，回复TD退订", ["https://u.10010.cn/qAE9U"]),
    ("立即抢u.10010.cn/qAdKD回复TD可退订", ["u.10010.cn/qAdKD"]),
    ("网址（js.0551website.com)感谢", ["js.0551website.com"]),
    ("见 http://a.cn/x?y=1&z=2, 或 www.b.com: 谢谢", ["http://a.cn/x?y=1&z=2", "www.b.com"]),
    ("请登录ｗｗｗ．ｉｃｂｃ－ｐａｙ．ｃｏｍ核实", ["www.icbc-pay.com"]),  # full-width, read as browsers read it
    # the Chinese full stop between a domain's labels, as browsers read it (a dot), and as the end of a sentence
    ("请登录 www。fz-110。com/a 配合调查。", ["www.fz-110.com/a"]),
    ("核实：icbc-vip。top。谢谢", ["icbc-vip.top"]),
    ("我在abc。明天见。回复ok。", []),
    ("好的。com", []),  # no domain label before it
    # a host in another script is found whole, to be read in punycode as the browser sends it
    ("验证 https://аррӏе.com/id 否则停用", ["https://аррӏе.com/id"]),  # Cyrillic letters that read as "apple"
    ("请登录аррӏе.com/x", ["аррӏе.com/x"]),
    ("http://工商银行.com/login，逾期", ["http://工商银行.com/login"]),
    ("https://www.іcbc.com.cn/login", ["https://www.іcbc.com.cn/login"]),  # not cbc.com.cn: the і is Cyrillic
    ("http://icbc.com立即登录", ["http://icbc.com"]),  # the Chinese after an ASCII host is not its host
    # a Chinese top-level domain, written in Chinese or in punycode (xn--fiqs8s is 中国): the scheme was found alone
    ("点击http://例子.中国/x领取", ["http://例子.中国/x"]),
    ("访问 http://例子.xn--fiqs8s/x 查看", ["http://例子.xn--fiqs8s/x"]),
    ("www.例子.中国/abc", ["www.例子.中国/abc"]),
    ("登录 反诈.中国 核实，或：工商银行.公司/a。", ["反诈.中国", "工商银行.公司/a"]),
    ("打开xn--fiqs8s.xn--fiqs8s/a 或 fz110.中国核实", ["xn--fiqs8s.xn--fiqs8s/a", "fz110.中国"]),
    # an IPv6 address as a host, with its port and path
    ("http://[2001:db8::1]/login 请登录", ["http://[2001:db8::1]/login"]),
    ("验证https://[2001:DB8::a]:8443/a?b=1立即", ["https://[2001:DB8::a]:8443/a?b=1"]),
    ("请访问http://，或 www. 谢谢", []),  # a scheme with no host after it is no link
])
def test_links_are_found_whole_and_no_more(text: str, links: list[str]) -> None:
    assert _urls(text) == links


def _best_time(text: str, repeats: int = 7) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        _urls(text)
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize("unit", ["x", "a.", "a-", "www", "1.", "a.b", "ab.c-", "http:", "a。", "ab。c-", "а.", "http://工.",
                                  "工.", "工", "http://[", "工.中"])
def test_finding_links_takes_time_proportional_to_the_text(unit: str) -> None:
    """A crafted text four times longer takes about four times as long (a ratio, so a loaded machine slows both):
    trying every position of a long run again made it sixteen (2,000 letters took 0.13 s, 8,000 about 2 s)."""
    short = unit * (2_000 // len(unit))
    ratios = []
    for _ in range(3):  # the best of three tries: one may be slowed by another process
        ratios.append(_best_time(short * 4) / _best_time(short))
        if ratios[-1] < 8:
            break
    assert min(ratios) < 8, f"{unit!r}: 4x the text took {min(ratios):.1f}x the time"


@pytest.mark.parametrize(("written", "sent"), [
    ("https://аррӏе.com/id", "https://xn--80ak6aa92e.com/id"),
    ("http://工商银行.com/Login", "http://xn--czr93rq40bruk.com/Login"),
    ("ｉｃｂｃ.com.cn/a", "icbc.com.cn/a"),  # full-width letters are the ASCII ones
    ("http://user@Etc-Gov。top:8080/A", "http://user@etc-gov.top:8080/A"),
    ("http://a_b.example.com/x", "http://a_b.example.com/x"),  # ASCII as written, lowered
])
def test_a_link_is_read_with_the_host_a_browser_would_send(written: str, sent: str) -> None:
    from aegis.events.urls import canonical_url, url_refusal

    assert canonical_url(written) == sent
    assert url_refusal(written) is None


def test_a_host_longer_than_dns_allows_is_refused() -> None:
    from aegis.events.urls import url_refusal

    assert "253" in url_refusal("http://" + "a" * 60 + (".b" * 100) + ".com/")
    assert url_refusal("http://" + ".".join(["a" * 60] * 4) + ".com/") is None  # 248 characters


@pytest.mark.parametrize(("host", "ip"), [
    ("192.168.1.1", True), ("127.1", True), ("0x7f000001", True), ("0177.0.0.1", True), ("1.2.3.4.", True),
    ("999.999.999.999", False), ("256.1.1.1", False), ("1.2.3.4.5", False), ("www.a.com.123", False),
])
def test_a_host_ending_in_a_number_is_an_ip_address_or_no_url(host: str, ip: bool) -> None:
    """As browsers read it (the WHATWG URL standard): 999.999.999.999 was taken for an IP address and blocked."""
    from aegis.events.urls import is_ip, url_refusal

    assert is_ip(host.rstrip(".")) is ip
    refusal = url_refusal(f"http://{host}/")
    assert refusal is None if ip else "is no IP address" in refusal


def test_an_invisible_character_in_a_host_is_not_shown_in_the_reasons(sqlite_engine) -> None:
    """A browser drops a zero-width space from a host (UTS 46): the reason names the host it would visit."""
    from fastapi.testclient import TestClient

    from aegis.api.app import create_app

    decided = TestClient(create_app(sqlite_engine)).post("/api/v1/decisions/url", json={"url": "http://ab\u200bc.com/"},
                          headers={"X-Aegis-User": "p1", "X-Aegis-Role": "platform", "X-Aegis-Institution": "wx"})
    assert decided.status_code == 200
    assert "\u200b" not in decided.text and "http://abc.com/" in decided.json()["reasons"][0]


@pytest.mark.parametrize("text", [
    "尊敬的用户：1.享受万本图书在线阅读；2.在线听书", "优惠如下：1.移动用户送流量 2.联通用户", "3.中国银行信用卡",
    "如有疑问请回复退订信息.网址:xxx", "我们可以通过www.中国银保监在线服务功能核实",
])
def test_numbered_items_and_sentences_before_a_chinese_word_are_no_links(text: str) -> None:
    """Chinese top-level domains are also words (在线, 移动, 网址): a numbered item (2.在线) or a sentence ended with
    a dot before one was read as a domain, twelve texts of telecom-fraud-texts-5 among them."""
    assert _urls(text) == []

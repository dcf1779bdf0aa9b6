"""Web addresses as events carry them: what counts as one (:func:`url_refusal`) and how its parts are told apart.

A URL comes into Aegis in a visit event (ingest) and a decision request (the API): both refuse a string no
browser could open, so neither scores nor stores it. A link written inside a message is found by
:func:`find_links`, for the URL detector to score it and the text detector to leave its characters aside. The
URL features (:mod:`aegis.features.url_features`) read the same scheme and IP forms from here, so a link that
passes here is one they can parse.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit

import idna

SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
"""a scheme with its ``//`` (``http://``); a link without one (as SMS write them) is read as ``http://``"""

_OTHER_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:(?!\d)")
"""a scheme without ``//`` (``javascript:``, ``mailto:``), told from a host with its port (``example.com:8080``)"""

WEB_SCHEMES = ("http", "https")

_URL_CHAR = r"[a-z0-9\-._~:/?#@!$&*+,;=%]"
"""characters of a link's path and query (RFC 3986's, less quotes and brackets): a link in an SMS ends where its
ASCII does, as SMS write them, with the Chinese that follows straight after it (``u.10010.cn/qAE9U立即参与``)"""
_URL_END = r"[a-z0-9\-_~/#@$&*+=%]"
"""the last character of a link: not the full stop, comma or colon of the sentence around it"""

_BARE_TLD = r"(?:com|cn|net|top|xyz|vip|cc|tk|info|org|me|io|shop|club|site|online|icu|app)(?![a-z0-9-])"
"""the top-level domains a link without a scheme or ``www.`` is found under: the common ones and those scams use"""

_LETTER = r"a-z0-9\u00c0-\u024f\u0370-\u03ff\u0400-\u052f-"
"""the characters of a bare domain's labels: ASCII, and the Latin, Greek and Cyrillic letters a homograph is
spelt with (``аррӏе.com`` in Cyrillic); not Chinese, which a link written without a scheme runs into"""

IDN_TLDS = ("中国", "中國", "公司", "网络", "网址", "网店", "网站", "商城", "商店", "在线", "集团", "我爱你", "手机",
            "中文网", "企业", "游戏", "娱乐", "信息", "政务", "公益", "机构", "世界", "购物", "健康", "时尚", "广东",
            "香港", "台湾", "台灣", "澳门", "澳門", "新加坡", "移动", "联通")
"""the Chinese top-level domains (internationalised, IANA's) a link is found under: a host of Chinese labels has
no ASCII to end at, so it ends at one of these (``反诈.中国核实`` is ``反诈.中国``)"""

_IDN_TLD = rf"(?:xn--[a-z0-9-]+(?![a-z0-9-])|{'|'.join(sorted(IDN_TLDS, key=len, reverse=True))})"
"""an internationalised top-level domain: in punycode (``xn--fiqs8s``, 中国), or one of :data:`IDN_TLDS`"""

_UNICODE_HOST = rf"(?:[\w-]+\.)+(?:{_IDN_TLD}|[a-z]{{2,63}}(?![a-z0-9-]))"
"""a host after a scheme or ``www.`` whose labels may be in any script (``http://工商银行.com``), under an ASCII or
an internationalised top-level domain (``http://例子.中国``): the Chinese written straight after a link is not read
as part of its host"""

_IP_LITERAL = r"\[[0-9a-f:.]+\]"
"""an IPv6 address as a URL writes it (``http://[2001:db8::1]/login``), a host as an IPv4 address is"""

_CJK_LABEL = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff-]{1,12}"
"""a domain label in Chinese characters, written bare: at most twelve of them, for a sentence's run of Chinese before
a full stop written as a dot (如有疑问请回复退订信息.网址) is no host"""

_CJK_BARE_TLD = "(?:中国|中國|公司|网络)"
"""the Chinese top-level domains a bare host of Chinese labels is found under: the ones 中文域名 are registered in.
Not 在线, 移动, 手机, 企业 or 网址, which are also words that follow a numbered item or a sentence's end (2.在线)"""

LINK = re.compile(
    rf"(?:https?://|www\.)(?:(?:{_UNICODE_HOST}|{_IP_LITERAL})(?:{_URL_CHAR}*{_URL_END})?|{_URL_CHAR}*{_URL_END})"
    # a bare domain is tried only from the start of its dotted run (not after a letter, nor after "x."): a link
    # found from inside the run is found from its start too, and trying every position of a long run again
    # (2,000 letters, or "a." a thousand times) made finding links quadratic in the text's length
    rf"|(?<![{_LETTER}])(?<![{_LETTER}]\.)[{_LETTER}]+(?:\.[{_LETTER}]+)*\.{_BARE_TLD}"
    rf"(?:[:/?#](?:{_URL_CHAR}*{_URL_END})?)?"
    # under a Chinese top-level domain, a first label with a letter in it (fz110.中国), not a numbered item's
    # number (2.在线), nor www alone before it
    rf"|(?<![{_LETTER}])(?<![{_LETTER}]\.)(?!www\.)(?=[0-9-]*[a-z\u00c0-\u052f])[{_LETTER}]+(?:\.[{_LETTER}]+)*"
    rf"\.{_IDN_TLD}(?:[:/?#](?:{_URL_CHAR}*{_URL_END})?)?"
    # a bare domain of Chinese labels under a Chinese top-level domain (反诈.中国), from the start of its run of
    # Chinese: written straight after other Chinese, the run is the host (no space tells where a label begins)
    rf"|(?<![\w.-]){_CJK_LABEL}(?:\.{_CJK_LABEL})*\.{_CJK_BARE_TLD}(?:[:/?#](?:{_URL_CHAR}*{_URL_END})?)?",
    re.IGNORECASE,
)
"""a link as messages write it: with a scheme or ``www.`` (and something after it), or a bare domain of a top-level
domain scams use or of a Chinese one"""

_IDEOGRAPHIC_DOTTED = re.compile(
    rf"(?<![a-z0-9-])(?<![a-z0-9-][.。])[a-z0-9-]+(?:[.。][a-z0-9-]+)*。{_BARE_TLD}", re.IGNORECASE)
"""a domain written with the Chinese full stop between its labels (``fz-110。com``): browsers read 。 in a host as
a dot (UTS #46 maps it so), and scams write links this way to slip past filters that look for ``.``"""


def _as_browsers_read(text: str) -> str:
    """``text`` with its links' characters as a browser reads them: full-width letters and dots in ASCII (NFKC),
    and a Chinese full stop inside a domain (one ending in a top-level domain links are found under) as a dot."""
    text = unicodedata.normalize("NFKC", text)
    if "。" not in text:
        return text
    return _IDEOGRAPHIC_DOTTED.sub(lambda m: m.group(0).replace("。", "."), text)


MAX_HOST = 253
"""the longest host name DNS can resolve (RFC 1035, in its written form)"""

MAX_LINKS = 5
"""the distinct links of one message that are scored: a text stuffed with links is no slower to decide (and one
with more is a sign by itself, see :mod:`aegis.usecases.decisions`)"""


def find_links(text: str, limit: int | None = MAX_LINKS) -> list[str]:
    """The distinct links in ``text``, in order: the first ``limit`` of them (None: all). A link written again,
    in other case or not, counts once: five copies of a bank's own address must not push a sixth, a look-alike,
    out of the links scored. Full-width letters and dots, and the Chinese full stop between a domain's labels (as a
    Chinese keyboard writes them, and as scams write links to slip past filters) are read as a browser reads them.

    >>> find_links("点击https://u.10010.cn/qAE9U立即参与，或登录etc-gov.top/a1。再说一遍：ETC-GOV.TOP/a1")
    ['https://u.10010.cn/qAE9U', 'etc-gov.top/a1']
    >>> find_links("请登录\uff43\uff43\uff42\uff0d\uff4a\uff46\uff0e\uff54\uff4f\uff50核实，或 www。fz-110。com。谢谢")
    ['ccb-jf.top', 'www.fz-110.com']

    A host in another script is found whole (``https://аррӏе.com/id``, Cyrillic letters that read as "apple"), for
    the URL detector to read as the browser would (:func:`browser_host`).
    """
    seen: dict[str, str] = {}
    for match in LINK.finditer(_as_browsers_read(text)):
        seen.setdefault(canonical_url(match.group(0)), match.group(0))
        if limit is not None and len(seen) >= limit:
            break
    return list(seen.values())


def browser_host(host: str) -> str:
    """``host`` as a browser sends it: in lower case, and a name written with characters outside ASCII mapped
    as browsers map it (UTS #46: full-width letters and the Chinese full stop, ``ｉｃｂｃ.com.cn`` and ``etc-gov。top``)
    and written in punycode (``аррӏе.com`` is ``xn--80ak6aa92e.com``), so a look-alike spelt in another script is
    read as what it is. A name that does not map is only lowered (and refused where it must be a host).

    >>> browser_host("аррӏе.com"), browser_host("ＩＣＢＣ.com.cn"), browser_host("Etc-Gov。top")
    ('xn--80ak6aa92e.com', 'icbc.com.cn', 'etc-gov.top')
    """
    if host.isascii():
        return host.lower()
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return host.lower()


def is_ip(host: str) -> bool:
    """Whether ``host`` is an IP address, in the hex, octal or bare-integer forms browsers still resolve too
    (``http://0x7f000001/``)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return _whatwg_ipv4(host) is not None
    return True


_NUMBER_PART = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]+|\d+")


def _ends_in_a_number(host: str) -> bool:
    """The WHATWG URL standard's test: a host whose last label is a number is parsed as an IPv4 address, and is no
    URL at all when that fails (``999.999.999.999``, ``1.2.3.4.5``)."""
    labels = host.rstrip(".").split(".")
    return bool(labels) and _NUMBER_PART.fullmatch(labels[-1]) is not None


def _whatwg_ipv4(host: str) -> int | None:
    """``host`` as the WHATWG URL standard's IPv4 parser reads it (up to four parts, each decimal, octal with a
    leading 0 or hex with 0x; all but the last below 256, the last filling the bytes left), or None.

    >>> [_whatwg_ipv4(h) for h in ("127.1", "0x7f000001", "0177.0.0.1", "999.999.999.999", "1.2.3.4.5")]
    [2130706433, 2130706433, 2130706433, None, None]
    """
    parts = host.rstrip(".").split(".")
    if not 1 <= len(parts) <= 4 or not all(_NUMBER_PART.fullmatch(p) for p in parts):
        return None
    numbers = [int(p[2:] or "0", 16) if p[:2].lower() == "0x" else int(p, 8) if p.startswith("0") else int(p)
               for p in parts]
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        return None
    address = numbers[-1]
    for at, n in enumerate(numbers[:-1]):
        address += n * 256 ** (3 - at)
    return address


def url_refusal(url: str) -> str | None:
    """Why ``url`` is no web address a browser could open (None when it is one): a scheme other than http(s), an
    authority that does not parse (``http://[::1``, a port past 65535), no host, a host that is neither a name of
    letters, digits, hyphens and underscores nor an IP address, or a punycode label that does not decode
    (``xn--``). Without a scheme (an SMS link, read as ``http://``) the host must be a domain (it has a dot) or an
    IP address: a lone word is no link.

    >>> [url_refusal(u) for u in ("etc-gov.top/a1", "http://xn--fiqs8s.cn/", "http://0x7f000001/")]
    [None, None, None]
    >>> url_refusal("javascript:alert(1)")
    "only http and https URLs are decided (not 'javascript:')"
    """
    text = url.strip()
    scheme = SCHEME.match(text) or _OTHER_SCHEME.match(text)
    if scheme is not None and scheme.group().split(":")[0].lower() not in WEB_SCHEMES:
        return f"only http and https URLs are decided (not '{scheme.group().split(':')[0]}:')"
    try:
        split = urlsplit(text if scheme is not None else "http://" + text)
        host = (split.hostname or "").rstrip(".")
        split.port  # noqa: B018 (it raises on a port out of range)
    except ValueError as exc:  # "Invalid IPv6 URL", "Port out of range 0-65535"
        return f"not a URL: {exc}"
    if not host:
        return "has no host (give it as http://example.com/...)"
    if is_ip(host):
        return None
    if _ends_in_a_number(host):
        return f"'{host[:80]}' is no IP address (a host ending in a number is read as one, and this one is none)"
    host = browser_host(host)
    if len(host) > MAX_HOST:
        return f"'{host[:80]}...' is no host name: longer than {MAX_HOST} characters"
    labels = host.split(".")
    for label in labels:
        if not label or len(label) > 63 or not all(c.isalnum() or c in "-_" for c in label):
            return f"'{host[:80]}' is not a host name"
        if label.startswith("xn--"):
            try:
                label.encode("ascii").decode("idna")
            except UnicodeError:
                return f"'{label[:80]}' is not valid punycode"
    if scheme is None and len(labels) < 2:
        return f"'{host[:80]}' is no domain: give a link as http://{host[:80]}/ or as a domain (www.example.com)"
    return None


_AUTHORITY = re.compile(r"^(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)?(?P<authority>[^/?#]*)")


def canonical_url(url: str) -> str:
    """``url`` with its scheme and host in lower case, the rest as written: ``HTTP://RAESEWSART.COM/Login`` is
    ``http://raesewsart.com/Login``. Both are case-insensitive (RFC 3986), so the same address scores the same
    however it is typed; left as written, upper case turned a phishing link's 0.78 into 0.36. The path and
    query keep their case: a server may tell them apart. A host written in another script is the one a browser
    would send (:func:`browser_host`).

    >>> canonical_url(" HTTPS://U.TO/THUiGA"), canonical_url("ETC-Gov.Top/A1")
    ('https://u.to/THUiGA', 'etc-gov.top/A1')
    """
    text = url.strip()
    match = _AUTHORITY.match(text)
    if match is None:  # the pattern matches every string (both groups may be empty)
        return text
    authority = match.group("authority")
    if not authority.isascii():
        user, at, rest = authority.rpartition("@")
        host, colon, port = rest.partition(":")
        authority = user + at + browser_host(host) + colon + port
    return (match.group("scheme") or "").lower() + authority.lower() + text[match.end():]

"""What Aegis can tell about a URL from the string alone: parts, lexical features, brand look-alikes, blacklists.

No network: the registered domain comes from tldextract's bundled public-suffix snapshot, never fetched and
never cached on disk (so a read-only install works), and the brand list and the blacklist are package data.

The pieces:

- :func:`parse_url` splits a URL (with or without a scheme) into host, port, path, query and the registered
  domain;
- :class:`BrandIndex` finds look-alikes of protected brands (Chinese banks, 12306, ETC, 12333, gov.cn,
  payment and platform brands) the way dnstwist enumerates them, and punycode homographs;
- :class:`Blacklist` holds reported fraud sites (the Taiwan 165 list);
- :class:`UrlFeaturizer` turns URLs into one numeric row each (:data:`FEATURE_NAMES`) and into the
  :class:`UrlSignals` the detector words its reasons from.

>>> featurizer = UrlFeaturizer(load_brands(), Blacklist.empty())
>>> signals = featurizer.signals("http://icbc-verify.top/login")
>>> str(signals.lookalike.describe()), signals.suspicious_words
('域名仿冒 icbc.com.cn（品牌词出现在非官方域名中）', ('login', 'verify'))
>>> signals.lookalike.describe().text("en")
'imitates icbc.com.cn (brand name inside an unofficial domain)'
>>> featurizer.signals("https://www.icbc.com.cn/").lookalike is None
True
"""

from __future__ import annotations

import csv
import functools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from urllib.parse import unquote, urlsplit

import numpy as np
import tldextract

from aegis.events.urls import SCHEME, browser_host
from aegis.events.urls import is_ip as is_ip_host
from aegis.reasons import Reason

_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
_TOKEN_SPLIT = re.compile(r"[^a-z0-9]+")
_FORWARD = re.compile(r"https?:|//|www\.", re.IGNORECASE)
"""an address inside a query (a redirect's or a sign-in page's next stop)"""
_ONWARD = re.compile(r"(?:https?://|www\.)[^\s&#\"'<>]+", re.IGNORECASE)
_USERINFO = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?([^/?#@]*)@", re.IGNORECASE)
_HEX_RUN = re.compile(r"[0-9a-f]{16,}")

SUSPICIOUS_WORDS = (
    "login", "logon", "signin", "sign-in", "verify", "verification", "validate", "confirm", "secure",
    "security", "account", "update", "banking", "password", "webscr", "cmd=", "suspend", "unlock",
    "recover", "billing", "invoice", "wallet", "authenticate", "auth", "wp-admin", "wp-includes",
    "refund", "renzheng", "denglu", "tuikuan", "tuifei", "lipei", "butie", "buzhu", "jiedong", "zhuxiao", "kefu",
)
"""words phishing URLs use to hurry or reassure (English, and the pinyin of 认证/登录/退款/退费/理赔/补贴/补助/
解冻/注销/客服)"""

SHORTENERS = frozenset({
    "bit.ly", "goo.gl", "tinyurl.com", "t.co", "ow.ly", "is.gd", "buff.ly", "rebrand.ly", "cutt.ly",
    "t.cn", "url.cn", "dwz.cn", "suo.im", "reurl.cc", "shorturl.at", "rb.gy", "tiny.cc", "bit.do", "s.id",
    "v.gd", "x.co", "lnkd.in", "tr.im", "cli.gs", "qr.net", "1url.com", "tweez.me", "u.to", "j.mp",
})

RISKY_TLDS = frozenset({
    "top", "xyz", "tk", "ml", "ga", "cf", "gq", "buzz", "cyou", "icu", "shop", "club", "vip", "work", "site",
    "online", "fun", "monster", "rest", "cc", "ws", "pw", "link", "click", "loan", "win", "bid", "date", "men",
    "kim", "country", "science", "party", "review", "stream", "trade", "live", "store", "app", "info", "best",
    "sbs", "cfd", "bond", "life", "ltd", "asia", "ink", "today", "support", "services",
})
"""TLDs over-represented in anti-phishing feeds (Spamhaus and Interisle TLD reports, the 165 list)"""

GOVERNMENT_SUFFIXES = ("gov", "gov.cn", "gov.tw", "gov.hk", "gov.uk", "gov.au", "mil", "edu.cn")

_HOMOGLYPHS = {
    "o": ("0",), "0": ("o",), "l": ("1", "i"), "i": ("1", "l"), "1": ("l", "i"), "e": ("3",), "a": ("4",),
    "s": ("5",), "b": ("6",), "g": ("9", "q"), "q": ("g",), "z": ("2",), "m": ("rn", "nn"), "w": ("vv",),
    "d": ("cl",), "u": ("v",), "v": ("u",), "n": ("r",),
}
"""ASCII characters (or pairs) read as another at a glance, as in dnstwist's homoglyph fuzzer"""

_CONFUSABLES = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s",
    "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "ɡ": "g", "ο": "o", "α": "a", "ε": "e", "ι": "i",
    "κ": "k", "ν": "v", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ѵ": "v", "ı": "i", "ɩ": "i",
})
"""Cyrillic and Greek letters that render like Latin ones: the usual punycode homograph material (a subset of
Unicode's confusables.txt; NFKD handles accented Latin letters)"""

_EDIT_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-"


@dataclass(frozen=True, slots=True)
class UrlParts:
    url: str
    scheme: str
    host: str
    port: int | None
    path: str
    query: str
    fragment: str
    subdomain: str
    domain: str
    """the label under the public suffix (``icbc`` in ``www.icbc.com.cn``)"""
    suffix: str
    is_ip: bool

    @property
    def registered(self) -> str:
        """The registered domain (``icbc.com.cn``), or the host itself for IP addresses and bare names."""
        return f"{self.domain}.{self.suffix}" if self.suffix and self.domain else self.host


def host_of(url: str) -> str:
    """The site of a URL: its lower-case host without port or a leading ``www.`` (a missing scheme is read as
    ``http://``); empty when it has none.

    The one key under which a domain's risk is stored (risk profiles, reports) and looked up (decisions,
    warning leads), wherever the URL came from.
    """
    text = url.strip()
    try:
        host = urlsplit(text if SCHEME.match(text) else "http://" + text).hostname or ""
    except ValueError:
        return ""
    return browser_host(host.rstrip(".")).removeprefix("www.")


def parse_url(url: str) -> UrlParts:
    """Split a URL; a missing scheme is read as ``http://`` (SMS links often come without one).

    A malformed URL still yields parts (an empty host at worst), since malformed is itself a signal.
    """
    text = url.strip()
    has_scheme = bool(SCHEME.match(text))
    try:
        split = urlsplit(text if has_scheme else "http://" + text)
        host = browser_host((split.hostname or "").rstrip("."))
        port = split.port
    except ValueError:
        split = urlsplit("http://invalid")
        host, port = "", None
    is_ip = is_ip_host(host)
    ext = _EXTRACT(host) if host and not is_ip else None
    return UrlParts(
        url=text, scheme=split.scheme.lower() if has_scheme else "", host=host, port=port,
        path=split.path, query=split.query, fragment=split.fragment,
        subdomain=ext.subdomain if ext else "", domain=ext.domain if ext else host,
        suffix=ext.suffix if ext else "", is_ip=is_ip,
    )


# ---------------------------------------------------------------------------------------------------------
# protected brands and their look-alikes


@dataclass(frozen=True, slots=True)
class Brand:
    key: str
    name: str
    category: str
    """bank, payment, government, benefits, telecom, logistics, service (a platform serving only its own pages) or
    platform (one that also hosts pages anyone can make)"""
    domains: tuple[str, ...]
    """its official registered domains, the first one shown in reasons"""
    keywords: tuple[str, ...]
    """the labels a look-alike imitates"""
    own_hosts: tuple[str, ...] = ()
    """hosts of a platform's official domains that serve only its own pages (``pay.weixin.qq.com``, not
    ``mp.weixin.qq.com`` where anyone publishes), named without ``www.``"""

    @property
    def shown(self) -> str:
        return self.domains[0] if self.domains else self.name

    def owns_page(self, parts: UrlParts) -> bool:
        """Whether the page at ``parts``, on one of the brand's domains, is the brand's own: a host that serves
        only its pages, written without a port (phishing kits write sign-in links with ``:443``)."""
        return parts.host.removeprefix("www.") in self.own_hosts and parts.port is None


def forwards(parts: UrlParts) -> bool:
    """Whether the query or fragment holds another address, to send the visitor on to: a redirect's target or a
    sign-in page's next stop. Phishing leads through official sites so (``google.com/url?q=``, ``accounts.google.
    com/ServiceLogin?continue=`` a page on Google's storage: phishing-hannousse holds nine; a short video site's
    ``douyin.com/link?url=``)."""
    return bool(_FORWARD.search(unquote(parts.query + "#" + parts.fragment)))


def onward(parts: UrlParts) -> str | None:
    """The address :func:`forwards` finds, decoded (twice, as redirects nest their encoding), if one is written
    out whole (``https://…`` or ``www.…``)."""
    found = _ONWARD.search(unquote(unquote(parts.query + "#" + parts.fragment)))
    return found.group() if found else None


def userinfo(parts: UrlParts) -> str:
    """What stands before ``@`` in the address's authority (``www.12306.cn`` in ``https://www.12306.cn@x.top/``):
    browsers drop it and open the host after it, so a domain written there is only there to be misread."""
    found = _USERINFO.match(parts.url)
    return found.group(1) if found else ""


@cache
def load_brands() -> tuple[Brand, ...]:
    """The bundled list of protected brands (``aegis/data/lists/brands.csv``)."""
    text = (resources.files("aegis") / "data" / "lists" / "brands.csv").read_text(encoding="utf-8")
    return tuple(
        Brand(row["key"], row["name"], row["category"], tuple(row["domains"].split()), tuple(row["keywords"].split()),
              tuple(row["own_hosts"].split()))
        for row in csv.DictReader(text.splitlines())
    )


@dataclass(frozen=True, slots=True)
class LookAlike:
    brand: Brand
    kind: str
    """``edit`` (Damerau-Levenshtein 1), ``homoglyph``, ``homograph`` (punycode), ``tld-swap``, ``subdomain``
    (brand label left of a foreign domain), ``embedded`` (brand word inside a foreign domain), ``government``"""
    token: str
    """the part of the host that imitates the brand"""

    KIND_CODES = ("edit", "homoglyph", "homograph", "tld-swap", "subdomain", "embedded", "government")

    def describe(self) -> Reason:
        detail = {
            "edit": Reason("编辑距离1"),
            "homoglyph": Reason("形近字符"),
            "homograph": Reason("punycode 同形字"),
            "tld-swap": Reason("更换顶级域名"),
            "subdomain": Reason("品牌词出现在子域名中"),
            "embedded": Reason("品牌词出现在非官方域名中"),
            "government": Reason("政府域名标识出现在非政府域名中"),
        }[self.kind]
        return Reason("域名仿冒 {brand}（{detail}）", brand=self.brand.shown, detail=detail)


_GOVERNMENT = Brand("gov", "政府网站", "government", ("gov.cn",), ("gov",))


class BrandIndex:
    """Look-alikes of protected brands in O(1) per host label.

    The neighbourhood of every brand keyword is enumerated once, as dnstwist does for a domain: all
    Damerau-Levenshtein-1 edits (insertion, omission, replacement, transposition; this is a superset of
    dnstwist's keyboard-restricted insertion/replacement, its bit-flip, repetition and vowel-swap fuzzers)
    and homoglyph swaps. Hand-written rather than calling ``dnstwist.Fuzzer`` because that generates whole
    domains per TLD (and a dictionary of hundreds of thousands for each brand), while a label-level index is
    small enough to pickle with the model and answers one URL in microseconds on the decision path.
    Short keywords (``abc``, ``boc``) only match whole tokens: their edit neighbourhood is full of real words.
    """

    def __init__(self, brands: Iterable[Brand]) -> None:
        self.brands = tuple(brands)
        self._official = {d: b for b in self.brands for d in b.domains}
        self._exact: dict[str, Brand] = {}
        self._variants: dict[str, tuple[Brand, str]] = {}
        for brand in self.brands:
            for word in brand.keywords:
                self._exact.setdefault(word, brand)
        for word, brand in self._exact.items():
            if len(word) >= 4:
                for variant in _edits1(word):
                    self._variants.setdefault(variant, (brand, "edit"))
            if len(word) >= 3:
                for variant in _homoglyph_variants(word):
                    self._variants[variant] = (brand, "homoglyph")
        for word in self._exact:
            self._variants.pop(word, None)
        self._embedded = sorted((w for w in self._exact if len(w) >= 5), key=len, reverse=True)

    def is_official(self, parts: UrlParts) -> bool:
        return parts.registered in self._official

    def official_brand(self, parts: UrlParts) -> Brand | None:
        """The brand whose official registered domain this is, if any; any host under China's government suffix
        (gov.cn, registered only by government bodies) is the government's."""
        if parts.suffix == "gov.cn" and parts.domain:
            return _GOVERNMENT
        return self._official.get(parts.registered)

    def match(self, parts: UrlParts) -> LookAlike | None:
        """The strongest imitation of a protected brand in the URL's host, if any."""
        if not parts.host or parts.is_ip or self.is_official(parts):
            return None
        if _is_government(parts.suffix) or (parts.domain == "gov" and len(parts.suffix) == 2):
            return None  # gov.ru: a country's government, registered under its code where gov.ru is no suffix
        if is_chinese_idn(parts.host):
            written = "".join(decode_idn(label) for label in parts.host.split("."))
            for name, brand in _chinese_names(self.brands):
                if name in written:
                    return LookAlike(brand, "embedded", name)
        domain = parts.domain
        homograph = _skeleton(domain)
        if homograph != domain and homograph in self._exact:
            return LookAlike(self._exact[homograph], "homograph", domain)
        if domain in self._exact:
            return LookAlike(self._exact[domain], "tld-swap", domain)
        if domain in self._variants:
            brand, kind = self._variants[domain]
            return LookAlike(brand, kind, domain)
        tokens = [t for t in _TOKEN_SPLIT.split(domain) if t]
        for token in tokens:
            if token in self._exact:
                return LookAlike(self._exact[token], "embedded", token)
            if token in self._variants and len(token) >= 4:
                brand, kind = self._variants[token]
                return LookAlike(brand, kind, token)
        sub_tokens = [t for t in _TOKEN_SPLIT.split(parts.subdomain) if t]
        for token in sub_tokens:
            if token in self._exact:
                return LookAlike(self._exact[token], "subdomain", token)
        for word in self._embedded:
            if word in domain:
                return LookAlike(self._exact[word], "embedded", word)
        if "gov" in tokens or "gov" in sub_tokens or domain.startswith("gov") or domain.endswith("gov"):
            return LookAlike(_GOVERNMENT, "government", "gov")
        return None


@functools.cache
def _chinese_names(brands: tuple[Brand, ...]) -> tuple[tuple[str, Brand], ...]:
    """The brands' names in Chinese characters, longest first, as a 中文域名 would write them: each of a name's
    parts (腾讯/微信), and without 中国 where four characters remain (工商银行 for 中国工商银行, not 银行 for 中国银行).
    Computed from the brands, not kept in the index, so models pickled before it read them too."""
    names: dict[str, Brand] = {}
    for brand in brands:
        for part in brand.name.split("/"):
            part = part.strip()
            if sum(_is_han(c) for c in part) < 2:
                continue
            names.setdefault(part, brand)
            if part.startswith("中国") and len(part) >= 6:
                names.setdefault(part[2:], brand)
    return tuple(sorted(names.items(), key=lambda item: -len(item[0])))


def _is_government(suffix: str) -> bool:
    return suffix in GOVERNMENT_SUFFIXES or suffix.startswith("gov.") or suffix.endswith(".gov")


def _edits1(word: str) -> set[str]:
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    omissions = {a + b[1:] for a, b in splits if b}
    transpositions = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    replacements = {a + c + b[1:] for a, b in splits if b for c in _EDIT_ALPHABET}
    insertions = {a + c + b for a, b in splits for c in _EDIT_ALPHABET}
    return {w for w in omissions | transpositions | replacements | insertions if w.strip("-")}


def _homoglyph_variants(word: str) -> set[str]:
    variants = set()
    for char, glyphs in _HOMOGLYPHS.items():
        if char not in word:
            continue
        for glyph in glyphs:
            variants.add(word.replace(char, glyph))
            variants |= {word[:i] + glyph + word[i + 1:] for i, c in enumerate(word) if c == char}
    return variants


def _skeleton(label: str) -> str:
    """The ASCII a (decoded) IDN label looks like: Cyrillic ``аррlе`` -> ``apple``."""
    text = decode_idn(label).translate(_CONFUSABLES)
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()


def decode_idn(label: str) -> str:
    """Unicode form of a punycode (``xn--``) label; any other label unchanged."""
    if not label.startswith("xn--"):
        return label
    try:
        return label[4:].encode("ascii").decode("punycode")
    except (UnicodeError, ValueError):
        return label


def is_idn(host: str) -> bool:
    return any(label.startswith("xn--") for label in host.split(".")) or not host.isascii()


def is_chinese_idn(host: str) -> bool:
    """Whether the host's internationalised labels are written in Chinese characters (例子.中国, 新华网.中国): a
    中文域名, which imitates no Latin brand letter by letter as a Cyrillic or accented homograph does."""
    labels = [decode_idn(label) for label in host.split(".")]
    written = [label for label in labels if not label.isascii()]
    return bool(written) and all(_is_han(c) or (c.isascii() and (c.isalnum() or c == "-"))
                                 for label in written for c in label)


def _is_han(char: str) -> bool:
    # the CJK ideograph blocks (unified, extension A, compatibility, extensions B onward); unicodedata has no
    # script property and the registry's IDN tables for Chinese are these blocks
    code = ord(char)
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF
            or 0x20000 <= code <= 0x3134F)


# ---------------------------------------------------------------------------------------------------------
# blacklist


@dataclass(frozen=True, slots=True, eq=False)
class Blacklist:
    """Reported fraud sites: whole hosts, and path (and query) prefixes of pages on shared hosting.

    Hosts are kept exactly (without ``www.``), never widened to their registered domain: the 165 list names
    pages on ``sites.google.com`` and ``cloudfront.net``, and blocking those domains would block everyone.
    """

    hosts: frozenset[str]
    pages: dict[str, tuple[str, ...]]
    """host -> the reported path prefixes on it"""

    @classmethod
    def empty(cls) -> Blacklist:
        return cls(frozenset(), {})

    @classmethod
    def from_entries(cls, entries: Iterable[str]) -> Blacklist:
        """From URLs or host names as reported (any case, with or without scheme and ``www.``)."""
        return cls.from_keys(map(cls.key, entries))

    @classmethod
    def from_keys(cls, keys: Iterable[str]) -> Blacklist:
        """From entries already in :meth:`key` form, as the bundled file holds them."""
        hosts: set[str] = set()
        pages: dict[str, set[str]] = {}
        for key in keys:
            host, _, path = key.partition("/")
            if path:
                pages.setdefault(host, set()).add(path)
            elif host:
                hosts.add(host)
        return cls(frozenset(hosts), {host: tuple(sorted(paths)) for host, paths in pages.items()})

    @staticmethod
    def key(entry: str) -> str:
        """The normal form of a list entry: lower-case ``host`` or ``host/path``, no scheme, no ``www.``."""
        parts = parse_url(entry)
        if not parts.host:
            return ""
        host, page = parts.host.removeprefix("www."), _page(parts)
        return f"{host}/{page}" if page else host

    def __len__(self) -> int:
        return len(self.hosts) + sum(map(len, self.pages.values()))

    def hit(self, parts: UrlParts) -> bool:
        host = parts.host.removeprefix("www.")
        if host in self.hosts:
            return True
        page = _page(parts)
        return bool(page) and any(page.startswith(prefix) for prefix in self.pages.get(host, ()))


def _page(parts: UrlParts) -> str:
    """Path and query, lower-case: ``play.google.com/store/apps/details?id=...`` names one app, not the store."""
    path = parts.path.strip("/").lower()
    return f"{path}?{parts.query.lower()}" if parts.query else path


def bundled_blacklist_entries() -> list[str]:
    """The entries of the bundled Taiwan 165 scam-site list (``aegis/data/lists/tw165_scam_sites.txt``; see README
    there), in :meth:`Blacklist.key` form."""
    text = (resources.files("aegis") / "data" / "lists" / "tw165_scam_sites.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line and not line.startswith("#")]


@cache
def load_blacklist() -> Blacklist:
    """The bundled Taiwan 165 scam-site list as a :class:`Blacklist`."""
    return Blacklist.from_keys(bundled_blacklist_entries())


# ---------------------------------------------------------------------------------------------------------
# lexical features


@dataclass(frozen=True, slots=True)
class UrlSignals:
    """The parsed URL and the risk indicators that reasons are worded from."""

    parts: UrlParts
    lookalike: LookAlike | None
    blacklisted: bool
    idn: bool
    shortener: bool
    suspicious_words: tuple[str, ...]
    risky_tld: bool
    chinese_idn: bool = False
    """a 中文域名 (:func:`is_chinese_idn`); not a model column: the training URLs hold none"""


FEATURE_NAMES = (
    "url_len", "host_len", "path_len", "query_len", "fragment_len", "domain_len", "subdomain_len",
    "n_subdomains", "n_host_hyphens", "n_host_digits", "url_digit_ratio", "url_upper_ratio", "n_dots",
    "n_hyphens", "n_underscores", "n_slashes", "n_at", "n_percent", "n_equals", "n_ampersand", "n_tilde",
    "n_query_params", "path_depth", "url_entropy", "host_entropy", "domain_vowel_ratio",
    "longest_token", "mean_token", "n_tokens", "longest_hex_run", "is_https", "has_scheme", "has_www",
    "is_ip", "has_port", "double_slash_in_path", "http_in_path", "www_in_path", "com_in_subdomain",
    "tld_in_path", "path_has_php", "path_has_html", "path_has_exe", "is_shortener", "risky_tld",
    "suffix_len", "suffix_is_cc", "n_suspicious", "is_idn", "lookalike", "lookalike_kind", "official_brand",
    "non_ascii",
)
"""the lexical columns; blacklist membership is not one of them (the detector applies it as a rule)"""

_TLD_IN_PATH = re.compile(r"\.(com|net|org|cn|info|top|xyz)(\W|$)")


class UrlFeaturizer:
    """URLs -> a float32 matrix with one column per :data:`FEATURE_NAMES` entry."""

    def __init__(self, brands: Iterable[Brand], blacklist: Blacklist) -> None:
        self.index = BrandIndex(brands)
        self.blacklist = blacklist

    def signals(self, url: str) -> UrlSignals:
        parts = parse_url(url)
        lower = parts.url.lower()
        return UrlSignals(
            parts=parts,
            lookalike=self.index.match(parts),
            blacklisted=self.blacklist.hit(parts),
            idn=is_idn(parts.host),
            shortener=parts.host.removeprefix("www.") in SHORTENERS,
            suspicious_words=tuple(w for w in SUSPICIOUS_WORDS if w in lower),
            risky_tld=parts.suffix.rsplit(".", 1)[-1] in RISKY_TLDS,
            chinese_idn=is_chinese_idn(parts.host),
        )

    def transform(self, urls: Sequence[str]) -> np.ndarray:
        return self.matrix([self.signals(url) for url in urls])

    def matrix(self, signals: Sequence[UrlSignals]) -> np.ndarray:
        rows = [self.row(s) for s in signals]
        return np.array(rows, dtype=np.float32).reshape(len(signals), len(FEATURE_NAMES))

    def row(self, s: UrlSignals) -> list[float]:
        p, text = s.parts, s.parts.url
        n = max(len(text), 1)
        tokens = [t for t in _TOKEN_SPLIT.split(text.lower()) if t]
        path_lower = p.path.lower()
        kinds = LookAlike.KIND_CODES
        return [
            len(text), len(p.host), len(p.path), len(p.query), len(p.fragment), len(p.domain), len(p.subdomain),
            p.subdomain.count(".") + 1 if p.subdomain else 0, p.host.count("-"),
            sum(map(str.isdigit, p.host)), sum(map(str.isdigit, text)) / n,
            sum(map(str.isupper, text)) / n, text.count("."), text.count("-"), text.count("_"),
            text.count("/"), text.count("@"), text.count("%"), text.count("="), text.count("&"),
            text.count("~"), len([q for q in p.query.split("&") if q]),
            len([seg for seg in p.path.split("/") if seg]), _entropy(text), _entropy(p.host),
            sum(c in "aeiou" for c in p.domain) / max(len(p.domain), 1),
            max(map(len, tokens), default=0), sum(map(len, tokens)) / len(tokens) if tokens else 0.0,
            len(tokens), max((len(m) for m in _HEX_RUN.findall(text.lower())), default=0),
            p.scheme == "https", bool(p.scheme), p.host.startswith("www."), p.is_ip, p.port is not None,
            "//" in p.path, "http" in path_lower or "http" in p.query.lower(), "www" in path_lower,
            ".com" in p.subdomain or "com-" in p.subdomain, bool(_TLD_IN_PATH.search(path_lower)),
            ".php" in path_lower, ".htm" in path_lower, path_lower.endswith((".exe", ".apk", ".zip", ".scr")),
            s.shortener, s.risky_tld, len(p.suffix), len(p.suffix.rsplit(".", 1)[-1]) == 2,
            len(s.suspicious_words), s.idn, s.lookalike is not None,
            kinds.index(s.lookalike.kind) + 1 if s.lookalike else 0, self.index.is_official(p),
            not text.isascii(),
        ]


def _entropy(text: str) -> float:
    if not text:
        return 0.0
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())

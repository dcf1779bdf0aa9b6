"""Fixed catalogues the city is built from: banks, telcos, popular sites and apps, brands that fraud imitates.

Everything here is public, well-known names; the simulator only samples from these lists.
"""

from __future__ import annotations

#: (bank name, card BIN prefix, market share among residents' accounts)
BANKS: tuple[tuple[str, str, float], ...] = (
    ("中国工商银行", "622202", 0.17),
    ("中国建设银行", "621700", 0.15),
    ("中国农业银行", "622848", 0.13),
    ("中国银行", "621661", 0.11),
    ("中国邮政储蓄银行", "621799", 0.08),
    ("交通银行", "622260", 0.06),
    ("招商银行", "622588", 0.09),
    ("兴业银行", "622909", 0.08),
    ("厦门银行", "623183", 0.05),
    ("平安银行", "622155", 0.04),
    ("中信银行", "622690", 0.04),
)

#: (telco, number prefixes it issues, market share)
TELCOS: tuple[tuple[str, tuple[int, ...], float], ...] = (
    ("中国移动", (134, 135, 136, 137, 138, 139, 147, 150, 151, 152, 157, 158, 159, 178, 182, 183, 187, 188, 198), 0.58),
    ("中国联通", (130, 131, 132, 155, 156, 166, 175, 176, 185, 186), 0.24),
    ("中国电信", (133, 149, 153, 173, 177, 180, 181, 189, 191, 199), 0.18),
)

#: service numbers residents call and get SMS from (bank and telco hotlines)
SERVICE_NUMBERS: tuple[str, ...] = (
    "95588",
    "95533",
    "95599",
    "95566",
    "95580",
    "95559",
    "95555",
    "95561",
    "96368",
    "95511",
    "95558",
    "10086",
    "10010",
    "10000",
    "12345",
    "12306",
    "12333",
    "96110",
    "110",
    "120",
)

OCCUPATIONS: tuple[tuple[str, float], ...] = (
    ("企业职员", 0.24),
    ("工人", 0.14),
    ("个体户", 0.08),
    ("教师", 0.03),
    ("医护人员", 0.03),
    ("公务员", 0.02),
    ("学生", 0.12),
    ("退休人员", 0.15),
    ("自由职业", 0.07),
    ("无业", 0.06),
    ("农民", 0.04),
    ("外卖骑手", 0.02),
)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余于杜叶程苏魏吕丁任沈"
GIVEN_CHARS = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红玉梅婷雪琳晨宇浩然子轩欣怡佳思雨梓涵博文"

#: popular legitimate sites: (domain, paths) — ordinary web visits are drawn from these
SITES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("www.baidu.com", ("/", "/s?wd=天气", "/s?wd=厦门美食", "/s?wd=新闻")),
    ("www.taobao.com", ("/", "/item/detail", "/cart")),
    ("www.jd.com", ("/", "/product/100012", "/order/list")),
    ("www.qq.com", ("/", "/news")),
    ("weibo.com", ("/", "/hot")),
    ("www.bilibili.com", ("/", "/video/BV1xx", "/anime")),
    ("www.zhihu.com", ("/", "/question/2718", "/hot")),
    ("www.douyin.com", ("/", "/video/7123")),
    ("www.163.com", ("/", "/news/article")),
    ("www.sina.com.cn", ("/", "/finance")),
    ("www.12306.cn", ("/index/", "/otn/leftTicket/init")),
    ("www.ctrip.com", ("/", "/hotels/xiamen")),
    ("www.meituan.com", ("/", "/meishi/xm")),
    ("www.pinduoduo.com", ("/", "/goods")),
    ("www.xiaohongshu.com", ("/", "/explore")),
    ("www.xiamen.gov.cn", ("/", "/zwgk/", "/bmfw/")),
    ("si.12333.gov.cn", ("/", "/query")),
    ("www.icbc.com.cn", ("/", "/personal")),
    ("www.ccb.com", ("/", "/cn/home")),
    ("www.cmbchina.com", ("/", "/personal")),
    ("www.etc.com.cn", ("/",)),
    ("www.gov.cn", ("/", "/zhengce/")),
    ("news.xmnn.cn", ("/", "/xmxw/")),
    ("www.kuaishou.com", ("/", "/short-video")),
)

#: legitimate apps: (package, display name, publisher signer id)
APPS: tuple[tuple[str, str, str], ...] = (
    ("com.tencent.mm", "微信", "tencent"),
    ("com.eg.android.AlipayGphone", "支付宝", "alipay"),
    ("com.taobao.taobao", "淘宝", "alibaba"),
    ("com.jingdong.app.mall", "京东", "jd"),
    ("com.ss.android.ugc.aweme", "抖音", "bytedance"),
    ("com.sankuai.meituan", "美团", "meituan"),
    ("tv.danmaku.bili", "哔哩哔哩", "bilibili"),
    ("com.xunmeng.pinduoduo", "拼多多", "pinduoduo"),
    ("com.sina.weibo", "微博", "sina"),
    ("com.zhihu.android", "知乎", "zhihu"),
    ("com.smile.gifmaker", "快手", "kuaishou"),
    ("com.xingin.xhs", "小红书", "xingin"),
    ("com.MobileTicket", "铁路12306", "cr12306"),
    ("com.icbc", "中国工商银行", "icbc"),
    ("com.chinamworld.main", "中国建设银行", "ccb"),
    ("cmb.pb", "招商银行", "cmb"),
    ("com.hicorenational.antifraud", "国家反诈中心", "mps"),
    ("com.tencent.qqmusic", "QQ音乐", "tencent"),
    ("com.autonavi.minimap", "高德地图", "autonavi"),
    ("ctrip.android.view", "携程旅行", "ctrip"),
)

#: legitimate screen-sharing / remote-control apps; fraudsters make victims install them
REMOTE_CONTROL_APPS: tuple[tuple[str, str, str], ...] = (
    ("com.tencent.wemeet.app", "腾讯会议", "tencent"),
    ("com.oray.sunlogin", "向日葵远程控制", "oray"),
    ("com.youqu.todesk", "ToDesk", "todesk"),
    ("us.zoom.videomeetings", "Zoom", "zoom"),
)

#: brands that fraud domains imitate: (brand, domain stem, which fraud types use it)
BRANDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("中国工商银行", "icbc", ("benefits_phishing", "impersonate_customer_service", "fake_loan")),
    ("中国建设银行", "ccb", ("benefits_phishing", "fake_loan")),
    ("招商银行", "cmb", ("benefits_phishing", "fake_loan")),
    ("铁路12306", "12306", ("impersonate_customer_service", "benefits_phishing")),
    ("ETC", "etc", ("benefits_phishing",)),
    ("社保", "12333", ("benefits_phishing",)),
    ("最高人民检察院", "spp-gov", ("impersonate_police",)),
    ("公安部", "mps-gov", ("impersonate_police", "impersonate_military")),
    ("淘宝", "taobao", ("impersonate_customer_service", "order_brushing")),
    ("京东", "jd", ("impersonate_customer_service", "order_brushing")),
    ("抖音", "douyin", ("order_brushing",)),
    ("华泰证券", "htsc", ("pig_butchering",)),
    ("中信证券", "citics", ("pig_butchering",)),
    ("币安", "binance", ("pig_butchering", "online_gambling")),
    ("网易游戏", "163game", ("fake_game_trading",)),
    ("交易猫", "jiaoyimao", ("fake_game_trading",)),
    ("微粒贷", "weilidai", ("fake_loan",)),
    ("国家反诈中心", "gjfzzx", ("impersonate_police",)),
    ("澳门银河", "galaxy", ("online_gambling",)),
    ("探探", "tantan", ("sextortion",)),
)

FRAUD_TLDS: tuple[str, ...] = ("top", "xyz", "cc", "vip", "icu", "shop", "club", "net", "com")
FRAUD_DOMAIN_WORDS: tuple[str, ...] = (
    "verify",
    "safe",
    "refund",
    "kefu",
    "service",
    "update",
    "vip",
    "app",
    "login",
    "pay",
    "online",
    "gov",
)

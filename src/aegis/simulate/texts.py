"""Chinese message texts for the simulated city, written for Aegis and varied by slot filling.

Ordinary traffic draws from a pool of pre-filled texts (built once per run, sampled by index), so that a
day's millions of messages cost one array ``take``; fraud texts are filled per gang with its own links.
"""

from __future__ import annotations

import random

import numpy as np

from aegis.events.models import FraudType

_ORDINARY = (
    "今晚回家吃饭吗？我{dish}做好了",
    "我到{place}了，你出门了吗",
    "明天{time}的会改到{room}会议室",
    "快递放在{place}门口了，记得拿",
    "生日快乐！祝你天天开心",
    "{name}，周末一起去{place}走走？",
    "孩子今天放学{time}接，别忘了",
    "收到，谢谢",
    "好的，路上注意安全",
    "我在开会，稍后回电",
    "帮我带一份{dish}，谢谢啦",
    "妈，我这周末回去看您",
)
_NOTICE = (
    "【{bank}】您尾号{tail}的账户{date}收入人民币{amount}元，活期余额{balance}元。",
    "【{bank}】您尾号{tail}的储蓄卡{date}消费支出人民币{amount}元。",
    "【{telco}】尊敬的客户，您本月话费账单{amount}元，详情请登录{telco}App查询。",
    "【{telco}】您的流量已使用80%，可回复KT办理加油包。",
    "【厦门公交】您的乘车码已开通，祝您出行愉快。",
    "【国家反诈中心】请警惕自称客服、公检法的来电，陌生链接不点击，验证码不告诉他人。",
    "【{shop}】您的订单已发货，快递单号{code}，请注意查收。",
    "【厦门市社保中心】您{month}月的社保费已扣缴成功。",
)
_CODE = (
    "【{app}】验证码{code}，5分钟内有效，请勿泄露给他人。",
    "【{bank}】您正在进行登录操作，验证码：{code}。如非本人操作请忽略。",
    "您的{app}验证码是{code}，工作人员不会向您索取，请勿告知任何人。",
)

_SLOTS = {
    "dish": ("红烧肉", "沙茶面", "海蛎煎", "土笋冻", "炒米粉", "排骨汤"),
    "place": ("中山路", "鼓浪屿", "万象城", "SM广场", "环岛路", "集美学村", "小区"),
    "time": ("八点", "九点半", "下午三点", "四点", "五点半"),
    "room": ("301", "二楼大", "A座5楼", "小"),
    "name": ("老王", "小李", "阿明", "小芳", "张姐"),
    "bank": ("工商银行", "建设银行", "农业银行", "中国银行", "招商银行", "兴业银行", "厦门银行"),
    "telco": ("中国移动", "中国联通", "中国电信"),
    "shop": ("淘宝", "京东", "拼多多", "美团"),
    "app": ("微信", "支付宝", "美团", "抖音", "12306", "淘宝"),
    "month": tuple(str(m) for m in range(1, 13)),
}


def _fill(template: str, rng: np.random.Generator, extra: dict[str, str] | None = None) -> str:
    # the standard library's generator, seeded from ours: numpy's per-call overhead dominates tiny draws
    r = random.Random(int(rng.integers(1 << 62)))
    values = {key: r.choice(options) for key, options in _SLOTS.items()}
    values |= {
        "tail": f"{r.randrange(10_000):04d}",
        "date": f"{r.randint(1, 12)}月{r.randint(1, 28)}日",
        "amount": f"{r.lognormvariate(5, 1.2):.2f}",
        "balance": f"{r.lognormvariate(9, 1.3):.2f}",
        "code": f"{r.randrange(1_000_000):06d}",
    }
    return template.format(**(values | (extra or {})))


def ordinary_pool(rng: np.random.Generator, size: int, personal: bool) -> list[str]:
    """Texts for ordinary SMS: personal messages, or service ones (bank/telco notices, verification codes)."""
    templates = _ORDINARY if personal else _NOTICE + _CODE
    return [_fill(str(rng.choice(templates)), rng) for _ in range(size)]


_FRAUD: dict[FraudType, tuple[str, ...]] = {
    FraudType.order_brushing: (
        "【招聘】足不出户日赚{money}元，手机点赞关注即可，结算快，详询 {url}",
        "宝妈学生兼职，刷单返佣，一单一结，佣金{pct}%，加入请点 {url}",
    ),
    FraudType.pig_butchering: (
        "哥，我表舅在{broker}内部做数据，这周稳赚{pct}%，平台在这 {url}",
        "亲爱的，今天又赚了{money}，你也试试嘛，注册链接 {url}",
    ),
    FraudType.impersonate_police: (
        "【{city}公安】您的身份信息涉嫌一起洗钱案件，请立即登录 {url} 查看通缉令并配合调查",
        "您涉嫌非法出境，案件编号{code}，请登录最高检官网 {url} 核实，逾期将冻结名下账户",
    ),
    FraudType.impersonate_customer_service: (
        "【{shop}】您购买的商品存在质量问题，可申请三倍理赔，退款入口 {url}",
        "您开通的百万保障会员即将扣费{money}元/月，如需取消请点击 {url}",
    ),
    FraudType.fake_loan: (
        "【{bank}】您有一笔{money}元的低息贷款待领取，无需征信，秒到账 {url}",
        "征信修复，逾期记录可消除，内部渠道办理 {url}",
    ),
    FraudType.impersonate_boss: (
        "我是{name}，换了新号码，明天到我办公室来一趟",
        "我现在开会不方便接电话，有笔款急着付给合作方，你先帮我转一下，账号发你",
    ),
    FraudType.sextortion: (
        "寂寞吗？附近美女一对一视频聊天，下载 {url}",
        "你的视频我已经录下来了，不想发给你通讯录里的人就马上联系我",
    ),
    FraudType.fake_game_trading: (
        "低价出售{game}满级账号和稀有皮肤，担保交易平台 {url}",
        "你挂的{game}账号有人下单了，请到 {url} 完成交易验证",
    ),
    FraudType.impersonate_military: (
        "您好，我是部队采购，需要采购一批{goods}，先交保证金下单，对接人 {url}",
        "部队后勤处急需{goods}，价格从优，请联系并缴纳订单押金",
    ),
    FraudType.online_gambling: (
        "澳门官方线上娱乐，首充送{pct}%，提款秒到 {url}",
        "内部计划稳赢，跟单回血，导师带飞 {url}",
    ),
    FraudType.benefits_phishing: (
        "【ETC服务】您的ETC卡已失效，请立即登录 {url} 重新认证，以免影响通行",
        "【社保局】您的社保卡待年审，逾期将停用，请点击 {url} 更新信息",
        "【{bank}】您的账户积分{money}即将清零，请及时兑换现金 {url}",
    ),
    FraudType.other: ("恭喜您获得{shop}年度幸运奖{money}元，领取请访问 {url}",),
}
_FRAUD_SLOTS = {
    "money": ("300", "500", "800", "1200", "2000", "5000", "50000"),
    "pct": ("15", "20", "30", "50", "100"),
    "broker": ("华泰", "中信", "某券商"),
    "city": ("北京市", "上海市", "广州市", "哈尔滨市"),
    "name": ("王总", "李局", "陈处长", "刘经理"),
    "game": ("王者荣耀", "原神", "和平精英", "梦幻西游"),
    "goods": ("矿泉水", "床上用品", "电缆", "劳保手套"),
}


def fraud_text(kind: FraudType, url: str, rng: np.random.Generator) -> str:
    """A fraud SMS of the given type; ``url`` is the gang's link (types that need no link ignore it)."""
    extra = {key: str(rng.choice(options)) for key, options in _FRAUD_SLOTS.items()} | {"url": url}
    return _fill(str(rng.choice(_FRAUD[kind])), rng, extra)


_REPORT_STORY: dict[FraudType, str] = {
    FraudType.order_brushing: (
        "在网上看到刷单兼职广告，前期做了几单返了佣金，后来被要求做“联单任务”垫付大额资金，无法提现"
    ),
    FraudType.pig_butchering: "在交友软件上认识一名男子，聊了一段时间后对方推荐投资平台，充值后无法提现",
    FraudType.impersonate_police: "接到自称公安局民警的电话，称其涉嫌洗钱案需要资金清查，按要求把钱转入“安全账户”",
    FraudType.impersonate_customer_service: (
        "接到自称电商客服的电话，称可办理退款理赔，按对方指导下载会议软件共享屏幕后转账"
    ),
    FraudType.fake_loan: "通过短信链接申请贷款，对方以解冻费、保证金、刷流水为由多次要求转账，贷款始终未到账",
    FraudType.impersonate_boss: "收到自称单位领导的信息，称急需向合作方付款，未核实即转账",
    FraudType.sextortion: "与网友裸聊被录屏，对方以发给亲友相威胁索要钱财",
    FraudType.fake_game_trading: "在非官方平台买卖游戏账号，对方以账户冻结、需要解冻金为由要求转账",
    FraudType.impersonate_military: "接到自称部队采购人员的订单，按要求向“供货商”支付货款和押金后对方失联",
    FraudType.online_gambling: "被拉进“稳赚”群在赌博网站下注，开始小有盈利，充值后账户被冻结无法提现",
    FraudType.benefits_phishing: "收到ETC/社保卡失效短信，点击链接填写了银行卡号和验证码，随后卡内资金被转走",
    FraudType.other: "收到中奖信息，按要求缴纳手续费后对方失联",
}


def report_text(kind: FraudType, loss: float, n_transfers: int) -> str:
    """The free text of a citizen's report: what happened, how often they paid and how much they lost."""
    return f"报警人称：{_REPORT_STORY[kind]}，共转账{n_transfers}笔，损失人民币{loss:.2f}元。"

"""``aegis evaluate``'s figures, and those of a model card ``aegis train`` writes, as tables, with names people
read for the keys of their JSON.

The keys themselves (``fraud_f1``, ``overall.lead_time_h_median``) stay as they are in ``--json`` and the card,
which scripts and the README read; a table shows each figure by its name in the language asked for. A nested key
is named part by part (``overall.lead_time_h_median``: 总体：提前量中位数（小时）), a cross-validated figure after
the figure (``cv_macro_f1_std``: 交叉验证宏平均F1标准差); a key with a part that has no name is shown as written,
whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from rich.cells import cell_len
from rich.table import Column, Table

from aegis.cli.common import out, table
from aegis.events import fraud_type_name
from aegis.names import name_of
from aegis.reasons import Lang, Reason, yuan

#: the names of the figures the detectors and the workflows report, by the last part of their key
FIGURE_NAMES: dict[str, Reason] = {
    # the detectors (text, number, url, account)
    "kind": Reason("检测器"),
    "rows": Reason("行数"),
    "rows_seen_in_training": Reason("训练中见过的行"),
    "n": Reason("参与评估的行数"),
    "accuracy": Reason("准确率"),
    "macro_f1": Reason("宏平均F1"),
    "fraud_precision": Reason("涉诈精确率"),
    "fraud_recall": Reason("涉诈召回率"),
    "fraud_f1": Reason("涉诈F1"),
    "fraud_auc": Reason("涉诈AUC"),
    "f1_by_label": Reason("各标签F1"),
    "folds": Reason("折数"),
    "cv_folds": Reason("交叉验证折数"),
    "cv": Reason("交叉验证"),
    "precision": Reason("精确率"),
    "recall": Reason("召回率"),
    "f1": Reason("F1"),
    "roc_auc": Reason("ROC AUC"),
    "auc": Reason("AUC"),
    "average_precision": Reason("平均精确率"),
    "precision_at_100": Reason("前100名精确率"),
    "precision_at_n_mules": Reason("前N名精确率（N为跑分账户数）"),
    "mules": Reason("跑分账户数"),
    "accounts": Reason("账户数"),
    # the warnings workflow on a simulated city
    "sim": Reason("模拟城市"),
    "people": Reason("居民人数"),
    "days": Reason("天数"),
    "model": Reason("模型"),
    "simulated_city": Reason("训练所用城市"),
    "seed": Reason("随机种子"),
    "lead_rows": Reason("线索行数"),
    "victim_rows": Reason("受害人线索行数"),
    "victims": Reason("受害人数"),
    "entity_risk": Reason("实体风险来源"),
    "policy_version": Reason("策略版本"),
    "overall": Reason("总体"),
    "warned_before_first_transfer": Reason("首笔转账前已预警"),
    "contact_deadline_before_first_transfer": Reason("联系时限早于首笔转账"),
    "lead_time_h_median": Reason("提前量中位数（小时）"),
    "lead_time_h_p10": Reason("提前量10%分位（小时）"),
    "warnings": Reason("预警条数"),
    "warnings_per_10k_people_day": Reason("每万人每天预警条数"),
    "type_accuracy_on_victims": Reason("受害人诈骗类型准确率"),
    "by_level": Reason("各级预警"),
    "queues": Reason("队列"),
    "victim_warnings_deadline_in_time": Reason("受害人预警时限早于首笔转账"),
    "by_fraud_type": Reason("各诈骗类型"),
    "targets": Reason("目标"),
    # the funds workflow on a simulated city
    "reported_victims": Reason("报案受害人数"),
    "total_loss": Reason("损失总额（元）"),
    "rule": Reason("资金追踪规则"),
    "max_dwell_hours": Reason("最长停留（小时）"),
    "floor": Reason("止付下限（元）"),
    "by_delay": Reason("各下达时点"),
    "scenario": Reason("下达时点"),
    "median_minutes_after_loss": Reason("距末笔损失分钟数（中位数）"),
    "freezable_share": Reason("尚可冻结占比"),
    "stopped_share": Reason("止付占比"),
    "frozen_share": Reason("冻结占比"),
    "returned_share": Reason("返还占比"),
    "median_victim_returned_share": Reason("受害人返还占比（中位数）"),
    "orders": Reason("指令"),
    "moved_on_answers": Reason("已转出答复"),
    "late_answers": Reason("逾期答复"),
    "accounts_held": Reason("控制账户数"),
    "innocent_accounts_held": Reason("控制的无辜账户数"),
    "returns_per_victim": Reason("各受害人返还"),
    "victim_id": Reason("受害人"),
    "loss": Reason("损失"),
    "returned": Reason("已返还"),
    "minutes_to_report": Reason("距末笔损失报案分钟数"),
}


def _scenario(value: Any, lang: Lang) -> str:
    """A funds scenario: orders ``5 min`` after the last loss, or at the report's own time (``report``)."""
    said = str(value)
    if said == "report":
        return Reason("报案时").text(lang)
    minutes, _, unit = said.partition(" ")
    return Reason("末笔损失后{minutes}分钟", minutes=minutes).text(lang) if unit == "min" else said


#: figures named after another figure (a model card's cross-validated ones), tried in order
_DERIVED: list[tuple[re.Pattern[str], Reason]] = [
    (re.compile(r"cv_(?P<figure>\w+)_std"), Reason("交叉验证{figure}标准差")),
    (re.compile(r"cv_(?P<figure>\w+)"), Reason("交叉验证{figure}")),
    (re.compile(r"mean_(?P<figure>\w+)"), Reason("{figure}均值")),
    (re.compile(r"held_out_(?P<graph>.+)"), Reason("留出{graph}")),  # one graph's figures, left out of training
]


def _named(part: str) -> Reason | None:
    """The name of one part of a key: its own, or one after the figure it derives from (a graph as written)."""
    if part in FIGURE_NAMES:
        return FIGURE_NAMES[part]
    for pattern, name in _DERIVED:
        found = pattern.fullmatch(part)
        figure = found and found.groupdict().get("figure")
        if found and figure is None:
            return Reason(name.msg, **found.groupdict())
        if figure is not None and figure in FIGURE_NAMES:
            return Reason(name.msg, figure=FIGURE_NAMES[figure])
    return None


#: how a model card's cross-validation ran (the account task leaves whole graphs out), by what the card says
_CV: dict[str, Reason] = {
    "leave-one-graph-out": Reason("轮流留出一个图"),
    "none: leave-one-graph-out needs two or more graphs": Reason("无：轮流留出一个图需要两个及以上的图"),
}


def _cv(value: Any, lang: Lang) -> str:
    named = _CV.get(str(value))
    return named.text(lang) if named is not None else str(value)


def _label(label: str, lang: Lang) -> str:
    """A text label of the data: normal, a fraud type of Aegis's, or another source's name as written."""
    return Reason("正常").text(lang) if label == "normal" else fraud_type_name(label, lang) or label


#: what the parts of a key below these name (a level, a queue, a label), and how a table shows them
_VALUES: dict[str, Callable[[str, Lang], str]] = {
    "by_level": name_of,
    "queues": name_of,
    "by_fraud_type": lambda code, lang: fraud_type_name(code, lang) or code,
    "f1_by_label": _label,
}

#: the key column of a grid (one row per level, per fraud type): its header
_GRID_KEYS: dict[str, Reason] = {"by_level": Reason("级别"), "by_fraud_type": Reason("诈骗类型")}

#: figures (or cells of a list's records) shown by name rather than as written
_CELLS: dict[str, Callable[[Any, Lang], str]] = {"scenario": _scenario, "kind": name_of, "cv": _cv}

#: figures that are sums of yuan, and figures that are numbers rather than counts (no thousands grouped)
_MONEY = {"total_loss", "floor"}
_MONEY_RECORDS = {"loss", "returned"}
"""sums of yuan in a list of records (a victim's loss and what came back), written to the fen"""
_PLAIN = {"seed"}


def figure_name(key: str, lang: Lang) -> str:
    """The name of a dotted figure key in ``lang``; the key as written if a part of it has no name."""
    parts = key.split(".")
    names = []
    for i, part in enumerate(parts):
        values = _VALUES.get(parts[i - 1]) if i else None
        named = _named(part)
        if values is not None:
            names.append(values(part, lang))
        elif named is not None:
            names.append(named.text(lang))
        else:
            return key
    return Reason("：").text(lang).join(names)


def cell(key: str, value: Any) -> str:
    """A figure in the table of figures: counts with their thousands grouped, sums of yuan to the fen, other
    fractional figures to four decimals (the detectors' are rounded to four, the workflows' ratios to three),
    "—" for none."""
    last = key.rsplit(".", 1)[-1]
    if value is None:
        return "—"
    if isinstance(value, bool) or last in _PLAIN:
        return str(value)
    if isinstance(value, (int, float)) and last in _MONEY:
        return yuan(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        # a whole count of days or hours is written whole (7, not 7.0000 beside the model's 30); a share, a ratio
        # or a probability (within [0, 1]) keeps its decimals, 1.0000 as 0.9500
        return f"{value:,.0f}" if value.is_integer() and abs(value) > 1 else f"{value:,.4f}"
    return str(value)


def _column(name: str, values: list[Any]) -> Callable[[Any], str]:
    """How a grid's column writes its figures, alike down the column: whole numbers whole when the column holds a
    count (some of its figures are ints: 30.0 and 1,440 minutes were one column), else one number of decimals for
    all (three below 10, one above: 0.200 beside 0.834, not 0.2)."""
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if not numbers or any(not isinstance(v, (int, float)) or isinstance(v, bool) for v in values if v is not None):
        return short
    if name in _MONEY or name in _MONEY_RECORDS:
        return lambda v: "" if v is None else yuan(v)
    if any(isinstance(v, int) for v in numbers) and all(float(v).is_integer() for v in numbers):
        return lambda v: "" if v is None else f"{int(v):,}"
    decimals = 3 if max(abs(v) for v in numbers) < 10 else 1
    return lambda v: "" if v is None else f"{v:,.{decimals}f}"


def short(value: Any) -> str:
    """A figure in a grid cell: three significant digits below 10, fewer decimals above (thousands grouped),
    "" for none."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}" if abs(value) >= 10 else f"{value:.3g}"
    return str(value)


def _flat(values: dict[str, Any], path: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in values.items():
        flat.update(_flat(value, f"{path}{name}.") if isinstance(value, dict) else {f"{path}{name}": value})
    return flat


def print_figures(figures: dict[str, Any], lang: Lang) -> None:
    """Nested figures as one table of named figures; grids (by level, by fraud type) and lists of records (by
    delay, by victim) as tables of their own."""
    # a long name folds onto a second line rather than be cut short with an ellipsis
    shown = table(lang, Reason("指标"), Reason("数值"))
    shown.columns[1].min_width = 12
    listed: list[tuple[str, list[dict[str, Any]]]] = []

    def rows(values: dict[str, Any], path: str) -> None:
        for name, value in values.items():
            if isinstance(value, dict) and len(value) > 1 and all(isinstance(v, dict) for v in value.values()):
                # a grid (by level, by fraud type): one row per entry, one column per figure
                listed.append((f"{path}{name}", [{name: key, **_flat(v)} for key, v in value.items()]))
            elif isinstance(value, dict):
                rows(value, f"{path}{name}.")
            elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                listed.append((f"{path}{name}", value))
            else:
                shown.add_row(figure_name(f"{path}{name}", lang),
                              _CELLS[name](value, lang) if name in _CELLS and value is not None
                              else cell(f"{path}{name}", value))

    rows(figures, "")
    out.print(shown)
    for title, records in listed:
        _print_records(title, records, lang)


def _print_records(title: str, records: list[dict[str, Any]], lang: Lang) -> None:
    """One grid or list of records: a row per record, a column per figure; names fold onto more lines (between
    words, or anywhere in Chinese), figures never break."""
    grid = title.rsplit(".", 1)[-1]
    columns = list(dict.fromkeys(key for record in records for key in record))

    written = {c: _column(c, [record.get(c) for record in records]) for c in columns}

    def shown_cell(column: str, value: Any) -> str:
        if column == grid and grid in _VALUES:
            return _VALUES[grid](str(value), lang)
        if column in _CELLS and value is not None:
            return _CELLS[column](value, lang)
        return written[column](value)

    cells = [[shown_cell(c, record.get(c)) for c in columns] for record in records]

    def header(column: str) -> str:
        if column == grid and grid in _GRID_KEYS:
            return _GRID_KEYS[grid].text(lang)
        named = figure_name(column, lang)
        # a key without a name, as written: its words to wrap between
        return named.replace("_", " ").replace(".", " ") if named == column else named

    names = [header(c) for c in columns]

    def unbroken(name: str) -> int:
        """The narrowest a header can fold to: its longest word, or five characters of a Chinese one."""
        return max(min(cell_len(word), 10) if not word.isascii() else cell_len(word) for word in name.split())

    widths = [max([unbroken(name)] + [cell_len(row[i]) for row in cells]) for i, name in enumerate(names)]
    sub = Table(*(Column(n, min_width=w, overflow="fold") for n, w in zip(names, widths, strict=True)),
                title=figure_name(title, lang))
    for row in cells:
        sub.add_row(*row)
    out.print(sub, width=max(out.width, sum(w + 3 for w in widths) + 1), crop=False)

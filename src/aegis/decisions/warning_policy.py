"""The graded dissuasion policy: from P(victim) and fraud type to a warning level, a channel and a deadline.

The policy is a versioned YAML file (default: ``aegis/data/policy/warnings.yaml``), validated when loaded so a
typo fails at start-up with the field named, not at the first warning. Pure: no I/O after loading.

>>> policy = load_policy()
>>> policy.level(0.99)
'urgent'
>>> policy.level(0.1) is None
True
>>> policy.dispatch("high", "impersonate_police").deadline
datetime.timedelta(seconds=21600)
>>> policy.next_queue("station")
'district'
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from aegis.decisions.policy_file import PolicyModel, read_policy_file
from aegis.events.models import FraudType
from aegis.reasons import InputError, Reason

if TYPE_CHECKING:  # the real-time decisions read this module's levels, without pandas
    import pandas as pd

LEVELS: tuple[str, ...] = ("urgent", "high", "medium", "low")
"""most to least severe"""
QUEUES: tuple[str, ...] = ("station", "district", "city")
"""the three tiers of 三级联动, bottom up"""
CHANNELS = ("sms", "call", "visit")
Level = Literal["urgent", "high", "medium", "low"]
Queue = Literal["station", "district", "city"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(value: str | int | float) -> timedelta:
    """``30m``, ``24h``, ``3d`` (a bare number is seconds); longer than nothing (a deadline of 0m has every
    warning overdue the moment it is raised)."""
    if isinstance(value, int | float):
        seconds = float(value)
        duration = timedelta(seconds=seconds if math.isfinite(seconds) else 0)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise InputError(Reason("“{value}”不是时长（应写作30m、24h或3d）", value=str(value)))
        duration = timedelta(**{_UNIT[match.group(2)]: float(match.group(1))})
    if not duration > timedelta(0):
        raise InputError(Reason("“{value}”：时长须为大于零的有限值", value=str(value)))
    return duration


def level_rank(level: str) -> int:
    """0 for urgent .. 3 for low; higher is less severe."""
    return LEVELS.index(level)


class Dispatch(PolicyModel):
    channel: Literal["sms", "call", "visit"]
    deadline: timedelta
    queue: Queue

    @field_validator("deadline", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        return value if isinstance(value, timedelta) else parse_duration(value)


class Rule(PolicyModel):
    name: str
    all: dict[str, float] = Field(min_length=1)
    level: Level


class Pace(PolicyModel):
    """How fast each fraud type takes the money, and how far that may relax a warning's level.

    ``hours``: fraud type -> the fast end of its contact-to-first-loss time (``aegis warnings pace`` measures
    it from reported cases). A due warning is handled at the least severe level, no lower than ``floor``,
    whose contact deadline still falls inside the type's pace less the hours since the person's first lead;
    the probability sets the most severe level. A sure victim of a scam that takes weeks is then a
    station's or district's call, not the city centre's 30-minute visit, and a later lead raises it again as
    the time runs out. Below ``floor`` only the probability decides (an SMS is for doubt, not for slowness).
    """

    floor: Level = "medium"
    hours: dict[str, float] = Field(default_factory=dict)

    @field_validator("hours")
    @classmethod
    def _known_types(cls, value: dict[str, float]) -> dict[str, float]:
        for ftype, hours in value.items():
            if ftype not in FraudType.__members__:
                raise InputError(Reason("“{type}”不是术语表中的诈骗类型", type=ftype))
            if not hours > 0:
                raise InputError(Reason("{type}：{hours}小时须为正数", type=ftype, hours=hours))
        return value


ELAPSED_FEATURE = "h_since_first_30d"
"""the fusion feature that says how long ago the person's first lead was (hours)"""


class Policy(PolicyModel):
    version: str = Field(min_length=1, max_length=32)
    thresholds: dict[Level, float]
    rules: list[Rule] = Field(default_factory=list)
    levels: dict[Level, Dispatch]
    fraud_types: dict[str, dict[Level, dict[str, Any]]] = Field(default_factory=dict)
    escalation: dict[Queue, timedelta] = Field(default_factory=dict)
    pace: Pace = Field(default_factory=Pace)

    @field_validator("escalation", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> Any:
        return {k: parse_duration(v) for k, v in (value or {}).items()}

    @model_validator(mode="after")
    def _complete(self) -> Policy:
        for name, table in (("thresholds", self.thresholds), ("levels", self.levels)):
            missing = [lv for lv in LEVELS if lv not in table]
            if missing:
                raise InputError(Reason("{name}：缺少级别{levels}", name=name, levels=", ".join(missing)))
        cuts = [self.thresholds[lv] for lv in LEVELS]  # type: ignore[index]
        if cuts != sorted(cuts, reverse=True) or not all(0 < c <= 1 for c in cuts):
            raise InputError(Reason("thresholds：须在(0, 1]之内，并从urgent到low依次降低"))
        for ftype, overrides in self.fraud_types.items():
            for level, fields in overrides.items():
                Dispatch(**{**self.levels[level].model_dump(), **fields})  # validates the override
                if set(fields) - {"channel", "deadline", "queue"}:
                    raise InputError(Reason("fraud_types.{type}.{level}：只能更改channel、deadline、queue", type=ftype,
                                            level=level))
        return self

    # --- decisions --------------------------------------------------------------------------------------
    def level(self, probability: float, features: Mapping[str, float] | None = None) -> str | None:
        """The level for one probability (and the rules on its features); None below the lowest threshold."""
        import pandas as pd

        frame = pd.DataFrame([dict(features or {})]) if features else None
        return self.levels_for(np.array([probability]), frame)[0] or None

    def levels_for(self, probability: np.ndarray, features: pd.DataFrame | None = None,
                   fraud_types: np.ndarray | None = None) -> np.ndarray:
        """Vectorised :meth:`level`: an array of level names, ``""`` where no warning is due.

        With ``fraud_types`` the type's pace may relax the probability's level (:class:`Pace`). Rules then
        only raise the level of a warning the model made due: alone they would bring back the false alarms
        the calibrated threshold keeps out.
        """
        rank = np.full(len(probability), len(LEVELS))
        for i in reversed(range(len(LEVELS))):
            rank[probability >= self.thresholds[LEVELS[i]]] = i  # type: ignore[index]
        if fraud_types is not None and self.pace.hours:
            rank = self._paced(rank, np.asarray(fraud_types, dtype=object), features)
        if features is not None and len(features):
            for rule in self.rules:
                hold = np.ones(len(features), dtype=bool)
                for column, minimum in rule.all.items():
                    if column not in features:
                        hold[:] = False
                        break
                    hold &= features[column].to_numpy(dtype=float) >= minimum
                due = rank < len(LEVELS)
                rank = np.where(hold & due, np.minimum(rank, level_rank(rule.level)), rank)
        names = np.array([*LEVELS, ""], dtype=object)
        return names[rank]

    def _paced(self, rank: np.ndarray, fraud_types: np.ndarray, features: pd.DataFrame | None) -> np.ndarray:
        floor = level_rank(self.pace.floor)
        elapsed = (features[ELAPSED_FEATURE].to_numpy(dtype=float)
                   if features is not None and ELAPSED_FEATURE in features else np.zeros(len(rank)))
        paced = rank.copy()
        for ftype, hours in self.pace.hours.items():
            rows = (fraud_types == ftype) & (rank < floor)
            if not rows.any():
                continue
            remaining_h = hours - np.nan_to_num(elapsed[rows])
            best = rank[rows]
            for k in range(1, floor + 1):  # the least severe level that still fits wins
                deadline_h = self.dispatch(LEVELS[k], ftype).deadline.total_seconds() / 3600.0
                fits = (k > rank[rows]) & (deadline_h <= remaining_h)
                best = np.where(fits, k, best)
            paced[rows] = best
        return paced

    def dispatch(self, level: str, fraud_type: str | None) -> Dispatch:
        base = self.levels[level]  # type: ignore[index]
        override = self.fraud_types.get(fraud_type or "", {}).get(level)  # type: ignore[call-overload]
        return Dispatch(**{**base.model_dump(), **override}) if override else base

    def next_queue(self, queue: str) -> str | None:
        """The tier above ``queue``; None at the city centre."""
        i = QUEUES.index(queue)
        return QUEUES[i + 1] if i + 1 < len(QUEUES) else None

    def escalation_deadline(self, queue: str) -> timedelta:
        return self.escalation.get(queue, timedelta(hours=2))  # type: ignore[call-overload]


def default_policy_path() -> Path:
    return Path(str(resources.files("aegis") / "data" / "policy" / "warnings.yaml"))


def load_policy(path: Path | None = None) -> Policy:
    """Read and validate a policy file; errors name the file and the field."""
    return read_policy_file(path or default_policy_path(), Policy)

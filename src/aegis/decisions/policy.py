"""Thresholds that turn a score into block / warn / pass, read from a versioned policy file."""

from __future__ import annotations

from enum import StrEnum
from functools import cache, reduce
from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from aegis.decisions.policy_file import PolicyError as PolicyError  # re-exported: callers catch it from here
from aegis.decisions.policy_file import PolicyModel, read_policy_file
from aegis.decisions.warning_policy import Level
from aegis.reasons import InputError, Reason


class Action(StrEnum):
    block = "block"
    warn = "warn"
    allow = "pass"


class Thresholds(PolicyModel):
    block: float = Field(ge=0, le=1)
    warn: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.warn > self.block:
            raise InputError(Reason("warn：不能高于block"))
        return self

    def action(self, score: float) -> Action:
        if score >= self.block:
            return Action.block
        if score >= self.warn:
            return Action.warn
        return Action.allow


class SenderContent(PolicyModel):
    """When what a number texted counts in its risk profile (see the policy file)."""

    min_text_score: float = Field(default=0.9, ge=0, le=1)
    min_receivers: int = Field(default=2, ge=1)


CHANNELS = ("sms", "call", "url", "transfer")
"""what Aegis decides on: every decisions policy gives each its thresholds"""


class DecisionPolicy(PolicyModel):
    version: str = Field(min_length=1, max_length=64)
    channels: dict[str, Thresholds]
    transfer_new_payee_large_amount: float = Field(default=5000, gt=0)
    transfer_payer_warning: dict[Level, Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=dict)
    """the weight of a transfer's payer being under an open warning, by the warning's level (absent: none)"""
    sender_content: SenderContent = Field(default_factory=SenderContent)

    @field_validator("channels")
    @classmethod
    def _every_channel(cls, channels: dict[str, Thresholds]) -> dict[str, Thresholds]:
        missing, unknown = sorted(set(CHANNELS) - set(channels)), sorted(set(channels) - set(CHANNELS))
        if missing or unknown:
            said = [Reason("没有{channels}的阈值", channels=", ".join(missing))] if missing else []
            if unknown:
                said.append(Reason("未知渠道{channels}（渠道为{known}）", channels=", ".join(unknown),
                                   known=", ".join(CHANNELS)))
            raise InputError(reduce(lambda first, then: Reason("{first}；{then}", first=first, then=then), said))
        return channels

    def decide(self, channel: str, score: float) -> Action:
        return self.channels[channel].action(score)


def load_policy(path: Path) -> DecisionPolicy:
    return read_policy_file(path, DecisionPolicy, Path(path).name)


@cache
def default_policy() -> DecisionPolicy:
    return load_policy(Path(str(resources.files("aegis") / "data" / "policy" / "decisions.yaml")))

"""Events: one typed, validated record per real-world happening (see shared/DESIGN.md)."""

from aegis.events.models import (
    EVENT_TYPES,
    FRAUD_TYPE_NAMES,
    AccountOpening,
    AppInstall,
    Call,
    Channel,
    Direction,
    FraudType,
    Gender,
    Person,
    Record,
    Report,
    SimOpening,
    Sms,
    Transfer,
    UrlVisit,
    fraud_type_name,
)
from aegis.events.times import CHINA_TZ, to_utc

__all__ = [
    "CHINA_TZ",
    "EVENT_TYPES",
    "FRAUD_TYPE_NAMES",
    "AccountOpening",
    "AppInstall",
    "Call",
    "Channel",
    "Direction",
    "FraudType",
    "Gender",
    "Person",
    "Record",
    "Report",
    "SimOpening",
    "Sms",
    "Transfer",
    "UrlVisit",
    "fraud_type_name",
    "to_utc",
]

"""Fixtures of the warning tests: a store with residents of three stations in two districts."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from wdata import add_residents


@pytest.fixture
def city(engine: Engine) -> Engine:
    add_residents(engine)
    return engine

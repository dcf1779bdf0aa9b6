"""One canonical form of a phone number, shared by decisions, risk profiles and the official-number check."""

from __future__ import annotations

import doctest

import pandas as pd
import pytest

from aegis.events import numbers
from aegis.events.numbers import canonical_number, national_number
from aegis.features.number_profile import canonical_numbers
from aegis.features.official_numbers import is_official


def test_doctests() -> None:
    assert doctest.testmod(numbers).failed == 0


@pytest.mark.parametrize("written", [
    "13912345678", "+8613912345678", "8613912345678", "0086-139-1234-5678", "139 1234 5678", "+86 139.1234.5678",
    "(+86) 139-1234-5678", "０08６１３９１２３４５６７８", " +86 13912345678 ",
])
def test_a_mobile_number_is_one_number_however_written(written: str) -> None:
    assert canonical_number(written) == "13912345678"


@pytest.mark.parametrize(("written", "canonical"), [
    ("+86 10 8888 6666", "01088886666"),  # Beijing: the trunk 0 comes back
    ("0086-21-6123-4567", "02161234567"),
    ("+86 (0)755 8888 6666", "075588886666"),
    ("0591-8765432", "05918765432"),  # no country code: only the separators go
    ("+86 591 8765432", "05918765432"),
])
def test_a_landline_keeps_its_area_code_with_the_trunk_zero(written: str, canonical: str) -> None:
    assert canonical_number(written) == canonical


@pytest.mark.parametrize(("written", "canonical"), [
    ("96110", "96110"), ("95588", "95588"),  # short service numbers
    ("+8695588", "+8695588"),  # a short number behind +86 is an odd form the spoofing heuristics read
    ("+14155550100", "+14155550100"), ("+1 (415) 555-0100", "+14155550100"), ("0085212345678", "0085212345678"),
    ("1440123456789", "1440123456789"),  # an IoT card's 13 digits
    ("86123456", "86123456"),  # a local number that begins with 86
    ("+86123", "+86123"),  # odd length: kept, so id_odd_length still sees it
    ("ICBC-notice", "ICBC-notice"), ("a", "a"),  # no phone number at all
])
def test_other_numbers_keep_their_digits_as_written(written: str, canonical: str) -> None:
    assert canonical_number(written) == canonical


def test_the_official_check_reads_every_spelling() -> None:
    assert is_official("96110") and is_official("+8695588") and is_official("0086 95588")
    assert national_number("+8695588") == "95588" and not is_official("13800138000")


def test_a_column_is_canonical_row_by_row() -> None:
    column = pd.Series(["+8613912345678", None, "13912345678", "96110"])
    assert canonical_numbers(column).tolist()[::2] == ["13912345678", "13912345678"]
    assert canonical_numbers(column).isna().tolist() == [False, True, False, False]

import doctest
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from aegis.events import EVENT_TYPES, Call, Person, Report, Sms, Transfer, UrlVisit, models
from aegis.events.schemas import export_schemas
from legacy_ids import as_written_id


def test_naive_times_are_china_time_and_stored_in_utc():
    call = Call(caller="13800000001", callee="13800000002", start="2026-10-01 10:00:00", duration_s=30)
    assert call.start == datetime(2026, 10, 1, 2, 0, tzinfo=UTC)


def test_event_id_is_stable_across_equivalent_inputs():
    a = Call(caller="13800000001", callee="13800000002", start="2026-10-01 10:00:00", duration_s=30)
    b = Call(caller=" 13800000001", callee="13800000002", start="2026-10-01T02:00:00Z", duration_s=31)
    c = Call(caller="13800000001", callee="13800000003", start="2026-10-01 10:00:00", duration_s=30)
    assert a.event_id == b.event_id  # same call delivered twice (duration corrected) is the same event
    assert a.event_id != c.event_id


def test_given_event_id_is_kept():
    call = Call(event_id="cdr-42", caller="1", callee="2", start="2026-10-01 10:00", duration_s=0)
    assert call.event_id == "cdr-42"


PERSON = {"person_id": "p1", "age": 30, "gender": "F", "occupation": "教师", "city": "厦门市", "district": "思明区",
          "station": "中华派出所"}
TRANSFER = {"payer_account": "a1", "payee_account": "a2", "payer_bank": "ICBC", "payee_bank": "CCB", "amount": "10",
            "time": "2026-10-01"}


@pytest.mark.parametrize(
    ("model", "values", "field"),
    [
        (Transfer, {**TRANSFER, "amount": "0"}, "amount"),
        (Transfer, {**TRANSFER, "payee_account": "a1"}, "payee_account"),
        (Transfer, {**TRANSFER, "amount": "10.001"}, "amount"),
        (Transfer, {**TRANSFER, "currency": "XYZ"}, "currency"),
        (Transfer, {**TRANSFER, "currency": "DEM"}, "currency"),  # the table's, but no money since 2002
        (Transfer, {**TRANSFER, "currency": "XAU"}, "currency"),  # gold: no legal tender
        (Person, {**PERSON, "age": 130}, "age"),
        (Person, {**PERSON, "id_number": "12345"}, "id_number"),
        (Person, {**PERSON, "id_number": "11010519491331002X"}, "id_number"),  # month 13
        (Person, {**PERSON, "id_number": "110105194912310021"}, "id_number"),  # these digits' check character is X
        (Call, {"caller": "138#0000", "callee": "2", "start": "2026-10-01", "duration_s": 1}, "caller"),
        # a year 1 or 9999 is a typing error that pandas cannot hold and that moves every window
        (Call, {"caller": "1", "callee": "2", "start": "0001-01-01", "duration_s": 1}, "start"),
        (Report, {"victim_id": "p1", "time": "9999-12-31 23:00", "fraud_type": "order_brushing"}, "time"),
        # PostgreSQL's text cannot hold a NUL: refused at the border, not a failed batch
        (Sms, {"sender": "1", "receiver": "2", "time": "2026-10-01", "text": "您好\x00请回电"}, "text"),
        (Report, {"victim_id": "p1", "time": "2026-10-01", "fraud_type": "order_brushing",
                  "text": "对方\x00自称客服"}, "text"),
        (Report, {"victim_id": "p1", "time": "2026-10-01", "fraud_type": "not_a_type"}, "fraud_type"),
        (Call, {"caller": "1", "callee": "2", "start": "2026-10-01", "duration_s": 1, "colour": "red"}, "colour"),
    ],
)
def test_invalid_records_name_the_field(model, values, field):
    with pytest.raises(ValidationError) as info:
        model.model_validate(values)
    locations = [e["loc"] for e in info.value.errors()]
    messages = " ".join(e["msg"] for e in info.value.errors())
    assert (field,) in locations or f"{field}:" in messages


def test_url_visit_needs_someone():
    with pytest.raises(ValidationError, match="person_id"):
        UrlVisit(url="http://example.cn", time="2026-10-01")


@pytest.mark.parametrize("url", ["javascript:alert(1)", "http://", "http://[::1", "http://xn--/", "not a url"])
def test_a_visit_to_what_no_browser_opens_is_refused_naming_url(url):
    with pytest.raises(ValidationError) as refused:
        UrlVisit(url=url, number="13800000001", time="2026-10-01")
    assert [e["loc"] for e in refused.value.errors()] == [("url",)]


@pytest.mark.parametrize("url", ["etc-gov.top/a1", "HTTPS://Example.CN/x?y=1", "http://0x7f000001/", "http://1.2.3.4:8080/"])
def test_a_visit_to_a_link_as_sms_write_them_is_kept(url):
    assert UrlVisit(url=url, number="13800000001", time="2026-10-01").url == url


@pytest.mark.parametrize("amount", ["1000000000000", "1,000,000,000,000.00", "9999999999999999.99", 10**15])
def test_an_absurd_sum_is_refused_naming_its_field(amount):
    """Less than a trillion yuan: 9,999,999,999,999,999.99 was stored as a transfer."""
    report = {"victim_id": "p1", "time": "2026-10-01", "fraud_type": "fake_loan"}
    for model, values, field in ((Transfer, TRANSFER, "amount"), (Report, report, "loss")):
        with pytest.raises(ValidationError) as info:
            model.model_validate({**values, field: amount})
        [error] = info.value.errors()
        assert error["loc"] == (field,) and error["msg"] == "Input should be less than 1000000000000"
    largest = Transfer.model_validate({**TRANSFER, "amount": "999,999,999,999.99"}).amount
    assert largest == Decimal("999999999999.99") and models.MAX_AMOUNT == 10**12


def test_money_is_exact():
    transfer = Transfer(
        payer_account="a1", payee_account="a2", payer_bank="ICBC", payee_bank="CCB", amount="0.10", time="2026-10-01"
    )
    assert transfer.amount == Decimal("0.10")


def test_schema_export_covers_every_kind(tmp_path):
    written = export_schemas(tmp_path)
    assert {p.name.split(".")[0] for p in written} == set(EVENT_TYPES)
    schema = (tmp_path / "call.schema.json").read_text()
    assert '"caller"' in schema and '"duration_s"' in schema


def test_the_published_schemas_are_the_records_own(tmp_path):
    """docs/schemas is what `aegis schemas` writes: a limit added to a record (an amount's ceiling) reaches it."""
    docs = Path(__file__).resolve().parents[2] / "docs" / "schemas"
    for path in export_schemas(tmp_path):
        assert path.read_text() == (docs / path.name).read_text(), f"docs/schemas/{path.name}: run `aegis schemas`"


@pytest.mark.parametrize("spelling", ["2026/10/01 07:28", "2026/10/1 7:28", "2026/10/01 07:28:00", "2026-10-1 7:28",
                                      " 2026/10/1  7:28:00.0 "])
def test_times_as_spreadsheets_write_them_mean_the_iso_time(spelling):
    iso = Call(caller="13800000001", callee="13800000002", start="2026-10-01 07:28", duration_s=30)
    sheet = Call(caller="13800000001", callee="13800000002", start=spelling, duration_s=30)
    assert sheet.start == iso.start == datetime(2026, 9, 30, 23, 28, tzinfo=UTC)  # naive: China time
    assert sheet.event_id == iso.event_id
    assert Transfer.model_validate({**TRANSFER, "time": "2026/10/1"}).time == datetime(2026, 9, 30, 16, tzinfo=UTC)


@pytest.mark.parametrize(
    ("spelling", "reason"),
    [
        ("2026/13/01 07:28", "'2026/13/01 07:28' is not a time: month must be in 1..12"),
        ("2026/10/01 25:00", "hour must be in 0..23"),
        ("2026/2/30", "day is out of range for month"),
        ("2026/10", "'2026/10' is not a time: write it as 2026-10-01 07:28 or 2026/10/1 7:28"),
        ("2026/10/01 7:5", "is not a time"),
        ("10/01/2026 07:28", "is not a time"),  # month or day first: which one is not for us to guess
        ("1899/12/31 23:00", "year 1899 is out of range (1900-2199)"),
    ],
)
def test_a_time_spelled_otherwise_is_refused_naming_the_field_and_why(spelling, reason):
    with pytest.raises(ValidationError) as info:
        Sms(sender="1", receiver="2", time=spelling, text="您好")
    [error] = info.value.errors()
    assert error["loc"] == ("time",) and reason in error["msg"]


@pytest.mark.parametrize(("amount", "value"), [("1,929.22", "1929.22"), ("52,000", "52000"), (" 1,000,000 ", "1000000"),
                                               ("１，９２９．２２", "1929.22")])
def test_amounts_may_group_their_thousands(amount, value):
    assert Transfer.model_validate({**TRANSFER, "amount": amount}).amount == Decimal(value)
    report = Report(victim_id="p1", time="2026-10-01", fraud_type="order_brushing", loss=amount)
    assert report.loss == Decimal(value)


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("1,92,9.22", "'1,92,9.22': commas must group the digits in threes, as in 1,929.22"),
        ("1,9", "(the decimal mark is a point)"),
        ("1,929,", "commas must group the digits in threes"),
        (",929", "commas must group the digits in threes"),
        ("1,929.225", "no more than 2 decimal places"),
        ("-1,000", "greater than 0"),  # a negative amount was never taken; its grouping does not hide why
    ],
)
def test_malformed_grouped_amounts_are_refused_naming_why(amount, reason):
    with pytest.raises(ValidationError) as info:
        Transfer.model_validate({**TRANSFER, "amount": amount})
    [error] = info.value.errors()
    assert error["loc"] == ("amount",) and reason in error["msg"]



SPELLINGS_OF_10 = ["10", "10.0", "10.00", "10.000", "10.0000", "1e1", "１０", "+010.", 10, 10.0]


def test_one_sum_spelled_otherwise_is_one_event() -> None:
    """A derived id reads the amount to the fen: a re-export that writes 10.5 for 10.50 stores nothing twice."""
    ids = {Transfer.model_validate({**TRANSFER, "amount": a}).event_id for a in ("10.5", "10.50", 10.5, "１０.５")}
    assert len(ids) == 1
    assert len({Transfer.model_validate({**TRANSFER, "amount": a}).event_id for a in SPELLINGS_OF_10}) == 1
    assert Transfer.model_validate({**TRANSFER, "amount": "10.51"}).event_id not in ids
    # to the fen is how the two-place spelling was hashed before: ids stored then from "10.50" still hold
    two_places = Transfer.model_validate({**TRANSFER, "amount": "10.50"})
    assert two_places.event_id == as_written_id(two_places)


@pytest.mark.parametrize("amount", [*SPELLINGS_OF_10, "1,000.5", "1000.50", "1e3", "8E+2", "0.1", "0.10", "99.99"])
def test_the_id_an_amount_as_written_was_given_is_a_former_id(amount) -> None:
    """Whatever spelling a store written before holds a transfer under is the derived id or a former one."""
    transfer = Transfer.model_validate({**TRANSFER, "amount": amount})
    assert as_written_id(transfer) in [transfer.event_id, *Transfer.former_ids(transfer)]
    assert Transfer.former_ids(transfer) == Transfer.former_ids(transfer.model_dump())  # a row, as the store has it
    assert transfer.event_id not in Transfer.former_ids(transfer)


def test_an_id_of_its_own_and_a_kind_without_amounts_have_no_former_ids() -> None:
    given = Transfer.model_validate({**TRANSFER, "amount": "10.5", "event_id": "bank-42"})
    assert given.event_id == "bank-42" and Transfer.former_ids(given) == []
    call = Call(caller="13800000001", callee="13800000002", start="2026-10-01 10:00:00", duration_s=30)
    assert Call.former_ids(call) == []
    # the loss of a report is no identifying field: its id never depended on how the loss was written
    assert Report.former_ids(Report(victim_id="p1", time="2026-10-01", fraud_type="fake_loan", loss="10.5")) == []


def test_time_spellings_were_one_id_already() -> None:
    """Times are hashed in UTC, after validation: an offset written or not, seconds or not, are one id (and
    were before); only amounts were hashed as written."""
    ids = {Transfer.model_validate({**TRANSFER, "time": t}).event_id
           for t in ("2026-10-01", "2026-10-01 00:00:00", "2026-10-01T00:00+08:00", "2026-09-30T16:00:00Z",
                     "2026/10/1 0:00", "2026-10-01 00:00:00.000")}
    assert len(ids) == 1


def test_doctests() -> None:
    assert doctest.testmod(models).failed == 0

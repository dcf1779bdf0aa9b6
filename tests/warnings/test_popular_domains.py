"""A domain visited by many residents is not a fraud-site lead, however the URL model scored it."""

from aegis.events import Person, UrlVisit
from aegis.store import EventRepository, RiskProfileRepository
from aegis.usecases.warning_pipeline import store_entity_risk


def test_popular_domains_are_dropped_from_the_risky_domains(sqlite_engine):
    repo = EventRepository(sqlite_engine)
    people = [Person(person_id=f"p{i}", age=30, gender="F", occupation="职员", city="厦门市", district="思明区",
                     station="思明区中华派出所").model_dump() for i in range(100)]
    visits = [UrlVisit(person_id=f"p{i}", url="https://www.popular.cn/a", time="2026-10-01 10:00").model_dump()
              for i in range(30)]
    visits.append(UrlVisit(person_id="p1", url="http://icbc-verify.top/login", time="2026-10-01 11:00").model_dump())
    with sqlite_engine.begin() as connection:
        repo.add_many("person", people, connection)
        repo.add_many("url_visit", visits, connection)
    RiskProfileRepository(sqlite_engine).upsert_many("domain", [
        {"entity_id": "www.popular.cn", "score": 0.9, "label": "phishing"},
        {"entity_id": "icbc-verify.top", "score": 0.99, "label": "phishing"},
    ], model="test")
    domains = set(store_entity_risk(sqlite_engine).domains["entity"])
    assert "icbc-verify.top" in domains
    assert "www.popular.cn" not in domains

"""ExaResource (exa-py + our retry policy) against the Exa emulator over real HTTP on loopback."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

import pytest
import requests

from revops_assets.emulators import exa as exa_emulator
from revops_assets.emulators._server import DocStore, EmulatorServer
from revops_assets.resources._http import AuthError, MalformedResponse, RateLimited, ServiceError, TransportError
from revops_assets.resources.exa import CreditsExhausted, ExaResource
from spec_validation import validate_request, validate_response

DOCS = [
    {"id": "c-acme", "url": "https://acmerobotics.com/about", "title": "Acme Robotics | Warehouse automation",
     "publishedDate": None, "author": None, "domain": "acmerobotics.com", "category": "company",
     "text": "Acme Robotics builds autonomous picking robots for mid-size warehouses.",
     "entities": [{"id": "https://exa.ai/library/company/acme-robotics", "type": "company", "version": 1,
                   "properties": {"name": "Acme Robotics", "foundedYear": 2016,
                                  "description": "Warehouse picking robots",
                                  "workforce": {"total": 240},
                                  "headquarters": {"address": "1 Dock St", "city": "Austin", "postalCode": "73301",
                                                   "country": "United States"},
                                  "financials": {"revenueAnnual": 31000000, "fundingTotal": 55000000,
                                                 "fundingLatestRound": {"name": "Series B", "date": "2025-02-10",
                                                                        "amount": 40000000}},
                                  "webTraffic": {"visitsMonthly": 18000}}}]},
    {"id": "c-globex", "url": "https://globex.io/", "title": "Globex | Billing software", "publishedDate": None,
     "author": None, "domain": "globex.io", "category": "company", "text": "Globex sells billing software.",
     "entities": [{"id": "https://exa.ai/library/company/globex", "type": "company", "version": 1,
                   "properties": {"name": "Globex", "foundedYear": 2009, "workforce": {"total": 900}}}]},
    {"id": "n-1", "url": "https://techwire.example/acme-series-b", "title": "Acme Robotics raises $40M Series B",
     "publishedDate": "2025-02-11T09:00:00.000Z", "author": "R. Reporter", "domain": "techwire.example",
     "category": "news", "text": "Acme Robotics announced a $40M Series B to expand into Europe."},
    {"id": "n-2", "url": "https://dailybiz.example/acme-hires-cro", "title": "Acme Robotics hires a new CRO",
     "publishedDate": "2025-05-02T12:00:00.000Z", "author": None, "domain": "dailybiz.example",
     "category": "news", "text": "Acme Robotics appointed a Chief Revenue Officer to scale sales."},
    {"id": "n-3", "url": "https://dailybiz.example/acme-2022", "title": "Acme Robotics opens first warehouse pilot",
     "publishedDate": "2022-03-01T12:00:00.000Z", "author": None, "domain": "dailybiz.example",
     "category": "news", "text": "An early pilot of Acme Robotics in Texas."},
    {"id": "n-4", "url": "https://dailybiz.example/globex-layoffs", "title": "Globex trims staff",
     "publishedDate": "2025-04-01T12:00:00.000Z", "author": None, "domain": "dailybiz.example",
     "category": "news", "text": "Globex cut 5% of staff."},
]


@pytest.fixture
def sample_dir(tmp_path: Path) -> Path:
    (tmp_path / "sample" / "exa").mkdir(parents=True)
    (tmp_path / "sample" / "exa" / "documents.jsonl").write_text("".join(json.dumps(d) + "\n" for d in DOCS))
    return tmp_path / "sample"


def exa_client(url: str, **overrides) -> ExaResource:
    config = dict(api_key="test-key", base_url=url, timeout_s=2.0, max_attempts=4, backoff_s=0.001, backoff_max_s=0.01)
    return ExaResource(**(config | overrides))


@pytest.fixture
def emulator(service_emulator, sample_dir: Path):
    """``emulator(script=[...] | faults=Faults(...))``: the shared emulator factory (conftest) for Exa."""

    def make(**kwargs):
        emu = service_emulator(exa_emulator, sample_dir, exa_client, **kwargs)
        emu.app.state.search_rate_per_s = 1000  # the client-side limiter is exercised on its own
        return emu

    return make


# ------------------------------------------------------------------------------------- the happy path


def test_search_company_returns_typed_entities_and_cost(emulator):
    emu = emulator()
    answer = emu.client().search_company("acmerobotics.com")
    assert answer.endpoint == "search" and answer.search_type == "neural" and answer.request_id
    top = answer.results[0]
    assert top.url == "https://acmerobotics.com/about"
    entity = top.entities[0]
    assert (entity.id, entity.type, entity.version) == ("https://exa.ai/library/company/acme-robotics", "company", 1)
    company = entity.properties
    assert (company.name, company.founded_year, company.workforce.total) == ("Acme Robotics", 2016, 240)
    assert company.description == "Warehouse picking robots"
    assert company.headquarters.city == "Austin" and company.headquarters.postal_code == "73301"
    assert company.financials.funding_total == 55_000_000
    assert company.financials.funding_latest_round.name == "Series B"
    assert company.web_traffic.visits_monthly == 18000
    # the JSON form keeps Exa's nesting (snake_case), as stored by the research cache
    assert top.model_dump(mode="json")["entities"][0]["properties"]["workforce"] == {"total": 240}
    assert answer.cost_dollars == pytest.approx(0.005 + 0.001 * len(answer.results))
    # category=company only returns company pages, and the domain filter narrowed it to one site
    assert all(r.url.startswith("https://acmerobotics.com") for r in answer.results)
    sent = json.loads(emu.calls[0].body)
    assert sent["category"] == "company" and sent["includeDomains"] == ["acmerobotics.com"]
    assert "startPublishedDate" not in sent  # Exa answers 400 to date filters on company searches


def test_search_company_by_name_ranks_the_company_first(emulator):
    answer = emulator().client().search_company("Globex")
    assert answer.results[0].entities[0].properties.name == "Globex"
    assert all(r.entities for r in answer.results)


def test_search_news_filters_by_date_and_returns_text(emulator):
    emu = emulator()
    answer = emu.client().search_news("Acme Robotics", "acmerobotics.com", start_published_date=date(2025, 1, 1))
    urls = [r.url for r in answer.results]
    assert "https://techwire.example/acme-series-b" in urls and "https://dailybiz.example/acme-hires-cro" in urls
    assert "https://dailybiz.example/acme-2022" not in urls  # published before the start date
    assert all(r.published_date >= "2025-01-01" for r in answer.results)
    assert all(r.text for r in answer.results)
    assert answer.cost_dollars == pytest.approx(0.005 + 0.001 * len(answer.results))
    sent = json.loads(emu.calls[0].body)
    assert sent["category"] == "news" and sent["numResults"] == 10
    assert sent["startPublishedDate"] == "2025-01-01T00:00:00.000Z" and sent["contents"]["text"]
    assert sent["includeText"] == ["Acme Robotics"]  # pages that name the company, not its neighbours in meaning
    assert all("acme robotics" in (r.text or "").lower() for r in answer.results)


def test_search_news_without_a_name_searches_the_domain_only(emulator):
    emu = emulator()
    emu.client().search_news(None, "acmerobotics.com", None)
    sent = json.loads(emu.calls[0].body)
    assert sent["query"] == "acmerobotics.com" and "includeText" not in sent
    with pytest.raises(ValueError, match="company name or a domain"):
        emu.client().search_news(None, None, None)


def test_search_is_deterministic(emulator):
    client = emulator().client()
    first = [r.url for r in client.search_news("Acme Robotics", None, None).results]
    second = [r.url for r in client.search_news("Acme Robotics", None, None).results]
    assert first == second and len(first) == 3


def test_get_contents_reports_unfetchable_urls(emulator):
    answer = emulator().client().get_contents(["https://techwire.example/acme-series-b", "https://nowhere.example/x"])
    assert [r.url for r in answer.results] == ["https://techwire.example/acme-series-b"]
    assert answer.results[0].text.startswith("Acme Robotics announced")
    assert answer.failed_urls == ["https://nowhere.example/x"]
    assert answer.cost_dollars == pytest.approx(0.001)


def test_cost_is_recorded_on_every_call(emulator):
    client = emulator().client()
    answers = [client.search_company("globex.io"), client.search_news("Globex", "globex.io", None),
               client.get_contents(["https://globex.io/"])]
    assert all(a.cost_dollars > 0 for a in answers)
    assert [e.cost_dollars for e in client.ledger] == [a.cost_dollars for a in answers]
    assert [e.request_id for e in client.ledger] == [a.request_id for a in answers]
    assert client.spent_dollars == pytest.approx(sum(a.cost_dollars for a in answers))


def test_requests_and_responses_conform_to_the_exa_spec(emulator):
    emu = emulator()
    client = emu.client()
    client.search_company("acmerobotics.com")
    client.search_company("Acme Robotics")
    client.search_news("Acme Robotics", "acmerobotics.com", date(2025, 1, 1), num_results=5)
    client.get_contents(["https://techwire.example/acme-series-b", "https://nowhere.example/x"])
    assert len(emu.calls) == 4
    for ex in emu.calls:
        assert ex.headers["x-api-key"] == "test-key"
        validate_request("exa", ex.method, ex.path, ex.body, ex.headers)
        assert ex.status == 200
        validate_response("exa", ex.method, ex.path, ex.status, ex.response_body, ex.response_headers)
        assert "total" in json.loads(ex.response_body)["costDollars"]


# ------------------------------------------------------------------------------------------- faults


@pytest.mark.parametrize("fault", ["429", "5xx", "malformed", "timeout"])
def test_transient_faults_are_retried_then_succeed(emulator, fault):
    emu = emulator(script=[fault, fault])
    answer = emu.client(timeout_s=0.25).search_company("globex.io")
    assert answer.results and answer.cost_dollars > 0
    assert len(emu.calls) == 3
    assert emu.injector.stats[fault] == 2


@pytest.mark.parametrize("fault,error", [("429", RateLimited), ("5xx", ServiceError),
                                         ("malformed", MalformedResponse), ("timeout", TransportError)])
def test_retries_stop_at_max_attempts(emulator, fault, error):
    emu = emulator(script=[fault] * 10)
    client = emu.client(max_attempts=3, timeout_s=0.25)
    with pytest.raises(error):
        client.search_news("Acme Robotics", None, None)
    assert len(emu.calls) == 3
    assert client.ledger == []  # nothing was billed


def test_rejected_key_is_not_retried_and_names_the_env_var(emulator):
    emu = emulator()
    with pytest.raises(AuthError) as info:
        emu.client(api_key="rejected-key").search_company("globex.io")
    assert info.value.status == 401 and "EXA_API_KEY" in str(info.value)
    assert "rejected-key" not in str(info.value)
    assert len(emu.calls) == 1


def test_missing_key_fails_before_any_call(emulator):
    emu = emulator()
    with pytest.raises(AuthError, match="EXA_API_KEY"):
        emu.client(api_key=None).search_company("globex.io")
    assert emu.calls == []


def test_exhausted_credits_are_not_retried(emulator):
    emu = emulator()
    with pytest.raises(CreditsExhausted) as info:
        emu.client(api_key="nocredit-key").search_news("Globex", None, None)
    assert info.value.status == 402 and "credits" in str(info.value)
    assert len(emu.calls) == 1


def test_client_keeps_under_the_search_rate_limit(emulator):
    emu = emulator()
    emu.app.state.search_rate_per_s = 10  # Exa's documented limit, enforced by the emulator
    client = emu.client(max_attempts=1)  # any 429 would fail the test
    started = time.monotonic()
    for _ in range(12):
        client.search_company("globex.io")
    assert time.monotonic() - started >= 1.0  # the 11th call waited for the window
    assert all(ex.status == 200 for ex in emu.calls)


# ---------------------------------------------------------------------------------- emulator contract


def test_emulator_enforces_auth_schema_and_rate_limit(emulator):
    emu = emulator()
    url = emu.server.url
    headers = {"x-api-key": "k"}

    def check(response, status, tag):
        body = response.json()
        assert response.status_code == status and body["tag"] == tag
        assert set(body) == {"requestId", "error", "tag"}

    check(requests.post(f"{url}/search", json={"query": "x"}), 401, "INVALID_API_KEY")
    check(requests.post(f"{url}/search", json={"numResults": 3}, headers=headers), 400, "INVALID_REQUEST_BODY")
    check(requests.post(f"{url}/search", json={"query": "x", "numResults": 500}, headers=headers), 400,
          "INVALID_REQUEST_BODY")
    check(requests.post(f"{url}/search", json={"query": "x", "category": "company", "startPublishedDate": "2025-01-01"},
                        headers=headers), 400, "INVALID_REQUEST_BODY")
    check(requests.post(f"{url}/contents", json={"urls": []}, headers=headers), 400, "INVALID_REQUEST_BODY")
    check(requests.post(f"{url}/search", json={"query": "x"}, headers={"x-api-key": "nocredit-1"}), 402,
          "NO_MORE_CREDITS")
    # the Bearer form of the key is accepted too (the spec's second security scheme)
    assert requests.post(f"{url}/search", json={"query": "Globex"},
                         headers={"Authorization": "Bearer k"}).status_code == 200

    emu.app.state.search_rate_per_s = 10
    statuses = [requests.post(f"{url}/search", json={"query": "Globex"}, headers={"x-api-key": "burst"}).status_code
                for _ in range(12)]
    assert statuses[:10] == [200] * 10 and 429 in statuses[10:]


def test_emulator_with_no_corpus_answers_empty(tmp_path: Path):
    app = exa_emulator.build_app(DocStore(tmp_path / "s.sqlite"), tmp_path / "missing")
    server = EmulatorServer(app).start()
    try:
        response = requests.post(f"{server.url}/search", json={"query": "anything"}, headers={"x-api-key": "k"})
        assert response.status_code == 200 and response.json()["results"] == []
    finally:
        server.stop()


def test_demo_wiring_starts_the_emulator_lazily_on_the_sample(demo_home: Path):
    """As build_resources wires demo: no URL, a demo home; the emulator starts at first call."""
    docs = [json.loads(line) for line in (demo_home / "sample" / "exa" / "documents.jsonl").open()]
    company = next(d for d in docs if d["category"] == "company" and d.get("entities"))
    client = ExaResource(api_key="demo-key-not-secret", base_url="", demo_home=str(demo_home))
    found = client.search_company(company["domain"])
    assert found.results[0].url == company["url"]
    assert found.results[0].entities[0].properties.name == company["entities"][0]["properties"]["name"]
    assert client.spent_dollars == found.cost_dollars > 0

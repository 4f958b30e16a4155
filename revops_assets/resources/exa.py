"""Exa web search as a Dagster resource: company profiles, recent news, page contents.

Built on exa-py (which shapes requests and parses entities and costs) with our own tenacity policy,
because exa-py does not retry: 429, 5xx, timeouts and malformed bodies are retried with bounded
backoff; 401 (bad key) and 402 (credits exhausted) never are. Every call's ``costDollars.total`` is
recorded on the answer and in the resource's ledger, so spend is visible per run.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from datetime import date
from typing import Any, Callable, Literal, TypeVar

import dagster as dg
import requests
from pydantic import BaseModel, Field, PrivateAttr
from pydantic import ValidationError as PydanticValidationError

from revops_assets.resources._http import (
    AuthError,
    MalformedResponse,
    NotFound,
    RateLimited,
    RateLimiter,
    ServiceError,
    TransportError,
    ValidationError,
    retrying,
)

SERVICE = "exa"
T = TypeVar("T")


class CreditsExhausted(ServiceError):
    """402: the Exa account has no credits left. Retrying cannot help; top up or wait for the plan."""


# --------------------------------------------------------------------------------------- typed answers


class ExaWorkforce(BaseModel):
    total: int | None = None  # employees


class ExaHeadquarters(BaseModel):
    address: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None


class ExaFundingRound(BaseModel):
    name: str | None = None
    date: str | None = None
    amount: int | None = None


class ExaFinancials(BaseModel):
    revenue_annual: int | None = None
    funding_total: int | None = None
    funding_latest_round: ExaFundingRound | None = None


class ExaWebTraffic(BaseModel):
    visits_monthly: int | None = None


class ExaCompanyProperties(BaseModel):
    name: str | None = None
    founded_year: int | None = None
    description: str | None = None
    workforce: ExaWorkforce | None = None
    headquarters: ExaHeadquarters | None = None
    financials: ExaFinancials | None = None
    web_traffic: ExaWebTraffic | None = None


class ExaCompanyEntity(BaseModel):
    """Exa's structured company entity (``category="company"`` results): exa-py's ``CompanyEntity``
    dataclass, field for field, as a pydantic model (importing exa-py at load time costs seconds)."""

    id: str
    type: Literal["company"] = "company"
    version: int = 1
    properties: ExaCompanyProperties


class ExaResult(BaseModel):
    id: str
    url: str
    title: str | None = None
    published_date: str | None = None
    author: str | None = None
    score: float | None = None
    text: str | None = None
    entities: list[ExaCompanyEntity] = Field(default_factory=list)


class ExaSearch(BaseModel):
    """One Exa call's answer. ``cost_dollars`` is what Exa billed for it (0.0 if it did not say)."""

    endpoint: Literal["search", "contents"]
    request_id: str | None = None
    results: list[ExaResult] = Field(default_factory=list)
    cost_dollars: float = 0.0
    search_type: str | None = None
    failed_urls: list[str] = Field(default_factory=list)  # /contents: URLs Exa could not fetch


class ExaCost(BaseModel):
    endpoint: str
    request_id: str | None
    cost_dollars: float


# ------------------------------------------------------------------------------------------ resource


_STATUS_ERROR = re.compile(r"^Request failed with status code (\d{3}): (.*)$", re.S)


def _company(entity: Any) -> ExaCompanyEntity | None:
    """exa-py's parsed ``CompanyEntity`` -> our model (person entities are not used here)."""
    if getattr(entity, "type", None) != "company":
        return None
    return ExaCompanyEntity.model_validate(dataclasses.asdict(entity))


_client_class: type | None = None


def _recording_client_class() -> type:
    """exa-py's client, keeping each call's raw JSON (exa-py's models drop ``searchType``).

    Built lazily: importing exa-py takes seconds and must not happen when definitions load.
    """
    global _client_class
    if _client_class is None:
        from exa_py import Exa

        class RecordingExa(Exa):
            def request(self, endpoint: str, data: Any = None, *args: Any, **kwargs: Any) -> Any:
                payload = super().request(endpoint, data, *args, **kwargs)
                self.last_payload.value = payload
                return payload

        _client_class = RecordingExa
    return _client_class


class ExaResource(dg.ConfigurableResource):
    """Exa search. ``api_key`` comes from ``dg.EnvVar(key_env_var)``; it is never logged."""

    api_key: str | None = None
    base_url: str = "https://api.exa.ai"
    timeout_s: float = 30.0
    max_attempts: int = 4
    backoff_s: float = 0.5  # first retry wait; doubles (with jitter) up to backoff_max_s
    backoff_max_s: float = 8.0
    key_env_var: str = "EXA_API_KEY"
    demo_home: str | None = None  # demo: with base_url="" call this home's emulator (started lazily)
    search_rate_per_s: int = 10  # Exa's limits (per key); kept client-side so we rarely see a 429
    contents_rate_per_s: int = 100

    _client: Any = PrivateAttr(default=None)
    _limiters: dict[str, Any] = PrivateAttr(default_factory=dict)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)
    _ledger: list[ExaCost] = PrivateAttr(default_factory=list)

    # -- public API -------------------------------------------------------------------------------

    def verify(self) -> str:
        """One real, cheap search (about half a cent in live): proves the key and the URL."""
        found = self.search_company("exa.ai", num_results=1)
        return f"{len(found.results)} result(s), ${found.cost_dollars:.4f}"

    def search_company(self, domain_or_name: str, num_results: int = 3) -> ExaSearch:
        """Company pages with Exa's structured entity (size, HQ, funding) for a domain or a name."""
        options: dict[str, Any] = {"category": "company", "num_results": num_results,
                                   "contents": {"text": {"max_characters": 2000}}}
        if "." in domain_or_name and " " not in domain_or_name.strip():
            options["include_domains"] = [domain_or_name.strip().lower()]
        return self._call("search", lambda c: c.search(domain_or_name, **options))

    def search_news(self, company_name: str | None, domain: str | None = None,
                    start_published_date: date | None = None, num_results: int = 10) -> ExaSearch:
        """Recent news about a company, with article text (for trigger-event detection).

        Exa ranks by meaning, so a small company's query also returns other companies' news; the
        company name is sent as ``includeText`` (Exa takes one phrase of up to five words) so the
        results are pages that name it. Without a name, only the domain is searched.
        """
        if not (company_name or domain):
            raise ValueError("search_news needs a company name or a domain")
        query = " ".join(part for part in (company_name, domain) if part)
        options: dict[str, Any] = {"category": "news", "num_results": num_results,
                                   "contents": {"text": {"max_characters": 4000}}}
        if company_name and len(company_name.split()) <= 5:
            options["include_text"] = [company_name]
        if start_published_date is not None:
            options["start_published_date"] = f"{start_published_date.isoformat()}T00:00:00.000Z"
        return self._call("search", lambda c: c.search(query, **options))

    def get_contents(self, urls: list[str]) -> ExaSearch:
        """Full text of known URLs; URLs Exa could not fetch are listed in ``failed_urls``."""
        return self._call("contents", lambda c: c.get_contents(list(urls), text=True))

    @property
    def spent_dollars(self) -> float:
        """Total Exa cost recorded by this resource instance."""
        return round(sum(entry.cost_dollars for entry in self._ledger), 6)

    @property
    def ledger(self) -> list[ExaCost]:
        return list(self._ledger)

    # -- plumbing ---------------------------------------------------------------------------------

    def _exa(self) -> Any:
        with self._lock:
            if self._client is None:
                if not self.api_key:
                    raise AuthError(SERVICE, None, f"no Exa API key configured: set the {self.key_env_var} "
                                                   "environment variable")
                base_url = self.base_url
                if not base_url and self.demo_home:
                    from revops_assets.resources.core import resolve_base_url

                    base_url = resolve_base_url(SERVICE, "", self.demo_home)
                client = _recording_client_class()(api_key=self.api_key, base_url=base_url.rstrip("/"),
                                                   timeout=self.timeout_s)
                client.last_payload = threading.local()
                self._limiters = {"search": RateLimiter(self.search_rate_per_s, 1.0),
                                  "contents": RateLimiter(self.contents_rate_per_s, 1.0)}
                self._client = client
            return self._client

    def _call(self, endpoint: Literal["search", "contents"], call: Callable[[Any], Any]) -> ExaSearch:
        client = self._exa()
        # 402 (CreditsExhausted) and 401/403 are ServiceError subclasses, so never retried.
        policy = retrying(SERVICE, max_attempts=self.max_attempts, backoff_s=self.backoff_s,
                          backoff_max_s=self.backoff_max_s, never=(CreditsExhausted,))
        answer = policy(lambda: self._once(client, endpoint, call))
        self._ledger.append(ExaCost(endpoint=endpoint, request_id=answer.request_id,
                                    cost_dollars=answer.cost_dollars))
        dg.get_dagster_logger().debug("exa %s: %d results, $%.4f (request %s)", endpoint, len(answer.results),
                                     answer.cost_dollars, answer.request_id)
        return answer

    def _once(self, client: Any, endpoint: Literal["search", "contents"], call: Callable[[Any], Any]) -> ExaSearch:
        self._limiters[endpoint].acquire()
        client.last_payload.value = None
        try:
            response = call(client)
            return self._answer(endpoint, response, client.last_payload.value)
        except PydanticValidationError as exc:  # JSON, but not Exa's shape
            raise MalformedResponse(SERVICE, 200, f"unexpected response shape: {exc.errors()[0]['msg']}") from None
        except ValueError as exc:  # exa-py reports HTTP errors and non-JSON bodies as ValueError
            error = self._error(str(exc))
            if error is None:
                raise
            raise error from None
        except requests.RequestException as exc:  # ExaTimeoutError is also one of these
            raise TransportError(SERVICE, None, f"{type(exc).__name__}: no usable answer within "
                                                f"{self.timeout_s}s") from None
        except (KeyError, TypeError, AttributeError) as exc:  # JSON, but not Exa's shape
            raise MalformedResponse(SERVICE, 200, f"unexpected response shape ({type(exc).__name__}: {exc})") from None

    def _answer(self, endpoint: Literal["search", "contents"], response: Any, raw: Any) -> ExaSearch:
        raw = raw if isinstance(raw, dict) else {}
        cost = response.cost_dollars.total if response.cost_dollars is not None else None
        if cost is None:
            dg.get_dagster_logger().warning("exa %s answer carried no costDollars; recording $0", endpoint)
        results = [
            ExaResult(
                id=r.id or r.url, url=r.url, title=r.title, published_date=r.published_date, author=r.author,
                score=r.score, text=r.text,
                entities=[c for c in (_company(e) for e in (r.entities or [])) if c is not None],
            )
            for r in response.results
        ]
        failed = [s.id for s in (getattr(response, "statuses", None) or []) if getattr(s, "status", "") == "error"]
        return ExaSearch(endpoint=endpoint, request_id=raw.get("requestId"), results=results,
                         cost_dollars=float(cost or 0.0),
                         search_type=raw.get("searchType") or raw.get("resolvedSearchType"), failed_urls=failed)

    def _error(self, message: str) -> ServiceError | None:
        """The typed error for one of exa-py's ValueErrors (``None``: not an HTTP failure, re-raise)."""
        if message.startswith("Expected a JSON response"):
            return MalformedResponse(SERVICE, 200, message[:500])
        match = _STATUS_ERROR.match(message)
        if match is None:
            return None
        status, text = int(match.group(1)), match.group(2)
        try:
            body: Any = json.loads(text)
            detail = f"{body.get('error')} [{body.get('tag')}]" if isinstance(body, dict) else text[:300]
        except ValueError:
            body, detail = text[:2000], text[:300]
        if status == 401:
            return AuthError(SERVICE, status, f"Exa rejected the API key ({detail}). Check the API key in the "
                                              f"{self.key_env_var} environment variable.", body)
        if status == 403:
            return AuthError(SERVICE, status, f"Exa refused access for this API key ({detail}).", body)
        if status == 402:
            return CreditsExhausted(SERVICE, status, f"Exa credits are exhausted ({detail}): add credits to the "
                                                     "account; retrying will not help.", body)
        if status in (400, 422):
            return ValidationError(SERVICE, status, detail, body)
        if status == 404:
            return NotFound(SERVICE, status, detail, body)
        if status == 429:
            return RateLimited(SERVICE, status, f"throttled ({detail})", body)
        return ServiceError(SERVICE, status, detail, body)

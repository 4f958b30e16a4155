"""HTTP plumbing shared by the service clients: sessions that retry sanely, a rate limiter, typed errors.

Why here and not per client: every external API in this project fails the same ways (throttling,
flaky gateways, broken proxies truncating bodies, rejected keys), and callers should be able to catch
one family of exceptions whatever the service. Nothing in this module reads the environment or a
secret; the caller passes the *name* of the env var that holds the key so errors can point at it.

- :func:`make_session` -- a ``requests.Session`` with urllib3 ``Retry`` (bounded, jittered exponential
  backoff on 429/5xx, ``Retry-After`` respected when sent), default connect/read timeouts, and an
  optional :class:`RateLimiter` that every attempt -- retries included -- passes through.
- :func:`raise_for_status` / :func:`parse_json` -- map a final response to a typed error or a body.
- :func:`retry_malformed` -- tenacity: re-issue a call whose 200 body was not JSON, a bounded number
  of times, then raise :class:`MalformedResponse`.
- :func:`retrying` -- tenacity: the policy of the SDK-based clients (Exa, OpenAI, Slack), which retry
  typed errors above urllib3: which errors are transient, jittered exponential wait, bounded attempts,
  ``Retry-After`` honoured up to a bound, and a log line per retry that cannot carry a secret.
"""

from __future__ import annotations

import json
import math
import threading
import time
from typing import Any, Callable, Iterable, TypeVar

import dagster as dg
import requests
from requests.adapters import HTTPAdapter
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
    wait_random_exponential,
)
from urllib3.util.retry import Retry

T = TypeVar("T")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Methods urllib3 may re-send after a 5xx or a read error: the server may already have acted on a POST.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
_BODY_EXCERPT = 2000


# --------------------------------------------------------------------------------------------- errors


class ServiceError(Exception):
    """An external service answered with an error (or not at all: ``status`` is ``None``)."""

    def __init__(self, service: str, status: int | None, message: str, body: Any = None):
        self.service = service
        self.status = status
        self.message = message
        self.body = body
        where = f"HTTP {status}" if status is not None else "no response"
        super().__init__(f"{service}: {where}: {message}")


class AuthError(ServiceError):
    """401/403: the key is missing, wrong, revoked, or lacks access (the message names its env var)."""


class ValidationError(ServiceError):
    """400/422: the service refused the request as invalid; retrying the same request will not help."""


class NotFound(ServiceError):
    """404: the object does not exist (or is not visible to this key)."""


class RateLimited(ServiceError):
    """429 after the retry budget was spent. ``retry_after`` is the server's hint in seconds, if any."""

    def __init__(self, service: str, status: int | None, message: str, body: Any = None,
                 retry_after: float | None = None):
        super().__init__(service, status, message, body)
        self.retry_after = retry_after


class MalformedResponse(ServiceError):
    """A success status with a body that is not the JSON it should be (truncated, HTML, empty)."""


class TransportError(ServiceError):
    """No usable answer: connection refused/reset or timed out, after the retry budget."""


# ------------------------------------------------------------------------------------- rate limiting


class RateLimiter:
    """Thread-safe sliding-window limiter: at most ``max_calls`` calls in any ``period_s`` window.

    A sliding window rather than a token bucket because providers (GoHighLevel: 100 per 10 s) count
    requests in a window; a bucket that starts full allows ``capacity + rate * period`` in one window.
    A call occupies its slot from start until it *finishes*, then for ``period_s`` more: the server
    handled it at some moment before we saw the answer, so however long the request queued on the
    way, the next call in that slot reaches the server at least ``period_s`` later. ``margin_s`` is a
    little slack on top. Use as ``with limiter: send()``; retries made inside ``send`` (urllib3, same
    thread) call :meth:`acquire` again and are released together at the end.
    """

    def __init__(self, max_calls: int, period_s: float, margin_s: float | None = None,
                 clock: Callable[[], float] = time.monotonic):
        if max_calls < 1 or period_s <= 0:
            raise ValueError("RateLimiter needs max_calls >= 1 and period_s > 0")
        self.max_calls = max_calls
        self.period_s = period_s + (max(0.01, 0.01 * period_s) if margin_s is None else margin_s)
        self._slots: list[list[float]] = []  # [finished_at]; inf while in flight
        self._cond = threading.Condition()
        self._local = threading.local()
        self._clock = clock
        self.total_wait_s = 0.0

    def _finish_own(self, now: float) -> None:
        for slot in getattr(self._local, "pending", ()):
            slot[0] = now
        self._local.pending = []

    def acquire(self) -> float:
        """Block until a call may start, take a slot, and return how long we waited."""
        waited = 0.0
        with self._cond:
            self._finish_own(self._clock())  # this thread is here, so its previous call is over
            while True:
                now = self._clock()
                self._slots = [s for s in self._slots if s[0] > now - self.period_s]
                if len(self._slots) < self.max_calls:
                    slot = [math.inf]
                    self._slots.append(slot)
                    self._local.pending.append(slot)
                    self.total_wait_s += waited
                    return waited
                oldest = min(s[0] for s in self._slots)
                timeout = None if oldest == math.inf else max(0.0, oldest + self.period_s - now)
                self._cond.wait(timeout)
                waited += self._clock() - now

    def release(self) -> None:
        """Mark this thread's calls as finished now (their window starts counting down)."""
        with self._cond:
            self._finish_own(self._clock())
            self._cond.notify_all()

    def __enter__(self) -> "RateLimiter":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


# ------------------------------------------------------------------------------------------- session


class _LimitedRetry(Retry):
    """urllib3 Retry that (a) re-sends any method on 429 -- a throttled request was never processed --
    and (b) takes a rate-limiter slot before every re-send, so retries obey the client-side limit too."""

    limiter: RateLimiter | None = None

    def new(self, **kw: Any) -> "_LimitedRetry":
        retry = super().new(**kw)
        retry.limiter = self.limiter
        return retry

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code == 429 and self.status_forcelist and 429 in self.status_forcelist:
            return True
        return super().is_retry(method, status_code, has_retry_after)

    def sleep(self, response: Any = None) -> None:
        super().sleep(response)
        if self.limiter is not None:
            self.limiter.acquire()


class _TimeoutSession(requests.Session):
    """A Session whose requests get a default (connect, read) timeout: requests has none by default."""

    default_timeout: tuple[float, float] = (5.0, 15.0)

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(method, url, **kwargs)


def make_retry(max_retries: int, backoff_factor: float, backoff_max: float = 30.0,
               statuses: Iterable[int] = RETRY_STATUSES, limiter: RateLimiter | None = None,
               any_method: bool = False) -> Retry:
    """The retry policy: bounded, exponential backoff with jitter, never raising on the final status
    (the caller turns the last response into a typed error that carries the service's message).

    ``any_method`` lets 5xx and read errors re-send POSTs too: only for sessions whose POSTs are
    reads or idempotent upserts. Otherwise POST is re-sent only after a 429 or a failed connect.
    """
    retry = _LimitedRetry(
        total=max_retries, connect=max_retries, read=max_retries, status=max_retries, other=0,
        redirect=3, allowed_methods=None if any_method else IDEMPOTENT_METHODS, status_forcelist=frozenset(statuses),
        backoff_factor=backoff_factor, backoff_max=backoff_max, backoff_jitter=backoff_factor,
        respect_retry_after_header=True, retry_after_max=backoff_max, raise_on_status=False,
    )
    retry.limiter = limiter
    return retry


def make_session(*, max_retries: int = 5, backoff_factor: float = 0.5, backoff_max: float = 30.0,
                 connect_timeout_s: float = 5.0, read_timeout_s: float = 15.0,
                 statuses: Iterable[int] = RETRY_STATUSES, limiter: RateLimiter | None = None,
                 any_method: bool = False, headers: dict[str, str] | None = None,
                 pool_maxsize: int = 16) -> requests.Session:
    """A ``requests.Session`` with the project's retry, timeout and rate-limit policy mounted.

    The limiter, if given, is taken before each *retry*; the caller takes it before the first attempt
    (so it can also count attempts it re-issues itself, e.g. after a malformed body).
    """
    session = _TimeoutSession()
    session.default_timeout = (connect_timeout_s, read_timeout_s)
    adapter = HTTPAdapter(max_retries=make_retry(max_retries, backoff_factor, backoff_max, statuses, limiter, any_method),
                          pool_connections=4, pool_maxsize=pool_maxsize)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    if headers:
        session.headers.update(headers)
    return session


# ------------------------------------------------------------------------------------------ answers


def _excerpt(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:_BODY_EXCERPT]


def _message(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("message", "error", "msg", "detail"):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("message") or json.dumps(value)
            if isinstance(value, list):
                value = "; ".join(str(v) for v in value)
            if value:
                return str(value)
        return json.dumps(body)[:300]
    return (str(body) or "(empty body)")[:300]


def retry_after_seconds(raw: str | None) -> float | None:
    """A ``Retry-After`` header in seconds, or ``None`` if absent or unusable (an HTTP date, negative,
    not a number): the caller then falls back to its own backoff."""
    try:
        seconds = float(raw) if raw is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0.0 <= seconds else None  # NaN fails the comparison too


def _retry_after(response: requests.Response) -> float | None:
    return retry_after_seconds(response.headers.get("Retry-After"))


def raise_for_status(service: str, response: requests.Response, key_env_var: str | None = None,
                     endpoint: str | None = None) -> None:
    """Raise the typed error for a non-2xx final response; return quietly on success.

    ``endpoint`` (e.g. ``"GET /calendars/"``) prefixes the message so a refusal says which call it
    was; pass it only where the path holds no secret (a Slack webhook's path is its key)."""
    status = response.status_code
    if status < 400:
        return
    body = _excerpt(response)
    message = f"{endpoint}: {_message(body)}" if endpoint else _message(body)
    if status in (401, 403):
        hint = f" Check the API key in the {key_env_var} environment variable." if key_env_var else ""
        verb = "rejected the API key" if status == 401 else "refused access for this API key"
        raise AuthError(service, status, f"{service} {verb} ({message}).{hint}", body)
    if status in (400, 422):
        raise ValidationError(service, status, message, body)
    if status == 404:
        raise NotFound(service, status, message, body)
    if status == 429:
        raise RateLimited(service, status, f"still throttled after retries ({message})", body, _retry_after(response))
    raise ServiceError(service, status, message if status < 500 else f"server error after retries ({message})", body)


def parse_json(service: str, response: requests.Response) -> Any:
    """The JSON body of a successful response, or :class:`MalformedResponse` if it is not JSON."""
    if response.status_code == 204 or (not response.content and response.request.method == "DELETE"):
        return None
    try:
        return json.loads(response.content)
    except ValueError as exc:
        raise MalformedResponse(
            service, response.status_code,
            f"response body is not valid JSON ({exc.msg} at char {exc.pos} of {len(response.content)})",
            response.text[:_BODY_EXCERPT],
        ) from None


def retry_malformed(call: Callable[[], T], attempts: int, backoff_factor: float) -> T:
    """Run ``call``; if it raises :class:`MalformedResponse`, re-run it up to ``attempts`` times in
    total (jittered exponential wait), then let the last :class:`MalformedResponse` propagate."""
    retrying = Retrying(
        retry=retry_if_exception_type(MalformedResponse),
        stop=stop_after_attempt(max(1, attempts)),
        wait=wait_random_exponential(multiplier=backoff_factor, max=max(backoff_factor * 8, 0.001)),
        reraise=True,
    )
    return retrying(call)


TRANSIENT_ERRORS: tuple[type[ServiceError], ...] = (RateLimited, MalformedResponse, TransportError)


def retrying(service: str, *, max_attempts: int, backoff_s: float, backoff_max_s: float,
             retry_after_max_s: float | None = None,
             retry_on: tuple[type[BaseException], ...] = TRANSIENT_ERRORS,
             never: tuple[type[BaseException], ...] = ()) -> Retrying:
    """The retry policy of the clients that raise typed errors themselves (SDKs with their own retries
    off): call the result with a zero-argument function, as ``retrying(...)(call)``.

    Retried: instances of ``retry_on``, and a *plain* :class:`ServiceError` with a 5xx status (its
    subclasses -- auth, validation, a service's own refusals such as quota or credits exhausted -- are
    answers, not accidents). ``never`` wins over both, for a service rule that must hold even if error
    classes change (OpenAI's ``insufficient_quota``). At most ``max_attempts`` calls in all (at least
    one); waits grow exponentially from ``backoff_s`` with up to ``backoff_s`` of jitter, capped at
    ``backoff_max_s``; a :class:`RateLimited` carrying the server's ``retry_after`` waits that long
    instead, capped at ``retry_after_max_s`` (default ``backoff_max_s``). The last error is re-raised
    as is. Each retry is logged with the error's class and status only: messages and bodies may quote
    what was sent (a webhook path, a key), so they stay out of the log.
    """
    cap = backoff_max_s if retry_after_max_s is None else retry_after_max_s
    backoff = wait_exponential_jitter(initial=backoff_s, max=backoff_max_s, jitter=backoff_s)

    def transient(exc: BaseException) -> bool:
        if isinstance(exc, never):
            return False
        return isinstance(exc, retry_on) or (type(exc) is ServiceError and (exc.status or 0) >= 500)

    def wait(state: RetryCallState) -> float:
        hint = getattr(state.outcome.exception(), "retry_after", None) if state.outcome else None
        if hint is not None:
            return min(max(float(hint), 0.0), cap)
        return backoff(state)

    def log(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        status = getattr(exc, "status", None)
        dg.get_dagster_logger().info("%s: %s%s on attempt %d of %d; retrying in %.2fs", service, type(exc).__name__,
                    f" (HTTP {status})" if status is not None else "", state.attempt_number, max(1, max_attempts),
                    state.upcoming_sleep)

    return Retrying(stop=stop_after_attempt(max(1, max_attempts)), wait=wait, retry=retry_if_exception(transient),
                    before_sleep=log, reraise=True)


def transport_error(service: str, exc: requests.RequestException) -> TransportError:
    """Wrap a requests exception (after urllib3's retries) without leaking headers or the key."""
    kind = type(exc).__name__
    reason = str(exc.args[0]) if exc.args else kind
    if "Max retries exceeded" in reason:
        reason = reason.split("(Caused by", 1)[-1].rstrip(")") or reason
    return TransportError(service, None, f"{kind}: {reason}"[:500])

"""Slack alerts through an incoming webhook, as a Dagster resource.

With no webhook configured, :meth:`SlackResource.post` is a logged no-op (``dry_run=True``) so demo
and CI runs never need Slack. The webhook URL is a secret (anyone holding it can post): it is never
logged, never put in an error message, and exceptions are raised ``from None`` so a traceback cannot
carry it either. Throttling (429, honouring ``Retry-After`` up to a bound), 5xx and transport errors
are retried; Slack's plain-text refusals (``invalid_payload``, ``action_prohibited``,
``channel_not_found``, ``channel_is_archived``) are not, and raise :class:`SlackWebhookRejected`.
A transient failure that outlasts the retries raises the typed ``_http`` error (``RateLimited``,
``ServiceError``, ``TransportError``): a returned failure is too easy to record as sent.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

import dagster as dg
import requests
from pydantic import BaseModel, PrivateAttr

from revops_assets.resources._http import (
    RateLimited,
    RateLimiter,
    ServiceError,
    TransportError,
    make_session,
    retry_after_seconds,
    retrying,
)

SERVICE = "slack"
DEMO_WEBHOOK_PATH = "/services/TDEMO0000/BDEMO0000/demo-webhook-token"
_ADVICE = {
    "invalid_payload": "the message body was refused; check text/blocks",
    "no_text": "the message had no text",
    "action_prohibited": "a workspace admin restricted posting through this webhook",
    "channel_not_found": "the webhook's channel no longer exists; create a new webhook",
    "channel_is_archived": "the webhook's channel is archived; unarchive it or create a new webhook",
    "no_service": "the webhook was revoked or the URL is wrong; create a new webhook",
    "invalid_token": "the webhook was revoked or the URL is wrong; create a new webhook",
}


_WEBHOOK_SECRET = re.compile(r"(/services/[^/\s\"']+/[^/\s\"']+/)[^\s\"'?]+")


class _RedactWebhookSecrets(logging.Filter):
    """urllib3 logs each request line at DEBUG, webhook path (the secret) included: mask its last part."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/services/" in message:
            record.msg, record.args = _WEBHOOK_SECRET.sub(r"\1***", message), ()
        return True


_redaction_installed = False


def _install_redaction() -> None:
    global _redaction_installed
    if not _redaction_installed:
        logging.getLogger("urllib3.connectionpool").addFilter(_RedactWebhookSecrets())
        _redaction_installed = True


class SlackWebhookRejected(ServiceError):
    """Slack refused the message for a reason retrying cannot fix (``code`` is Slack's error string)."""

    def __init__(self, status: int, code: str):
        self.code = code
        advice = _ADVICE.get(code, "see Slack's incoming-webhook error reference")
        super().__init__(SERVICE, status, f"{code}: {advice} (update SLACK_WEBHOOK_URL if the webhook changed)", code)


class SlackPost(BaseModel):
    """What a returned post did. Failures raise, so ``error`` is ``None`` on every returned post; it is
    kept for callers that store outcomes alongside their own failure records."""

    delivered: bool
    dry_run: bool
    status: int | None = None
    error: str | None = None
    attempts: int = 0


class SlackResource(dg.ConfigurableResource):
    """Posts alerts to one Slack incoming webhook (``webhook_url`` from ``dg.EnvVar("SLACK_WEBHOOK_URL")``)."""

    webhook_url: str | None = None
    timeout_s: float = 10.0
    max_attempts: int = 4
    backoff_s: float = 0.5
    backoff_max_s: float = 8.0
    max_retry_after_s: float = 30.0  # honour Slack's Retry-After, but never sleep longer than this
    # Slack allows about one message per second per webhook: pace posts instead of collecting 429s
    # (each one spends an attempt). 0 turns pacing off.
    min_interval_s: float = 1.0
    demo_home: str | None = None  # demo: with no webhook_url, post to this home's emulator (started lazily)

    _session: Any = PrivateAttr(default=None)
    _url: str | None = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)
    _pace: Any = PrivateAttr(default=None)

    def verify(self) -> str:
        """Say whether posts will be delivered; posting a probe would land in the team's channel."""
        url = self._webhook()
        if url is None:
            return "no webhook: posts are logged, not sent"
        if self.demo_home and not self.webhook_url:
            return "demo emulator"
        return "webhook configured (not probed: it would post)"

    def post(self, text: str, blocks: list[dict] | None = None) -> SlackPost:
        """Post a message and say what happened. Raises :class:`SlackWebhookRejected` on a refusal and
        ``RateLimited``/``ServiceError``/``TransportError`` when the retries run out."""
        url = self._webhook()
        log = dg.get_dagster_logger()
        if url is None:
            log.info("slack dry run (no webhook configured): would post %r%s", _preview(text),
                     f" with {len(blocks)} blocks" if blocks else "")
            return SlackPost(delivered=False, dry_run=True)
        payload: dict[str, Any] = {"text": text}
        if blocks:
            payload["blocks"] = blocks
        attempts = 0

        def once() -> requests.Response:
            nonlocal attempts
            attempts += 1
            return self._send(url, payload)

        # A 2xx is delivered whatever its body, so there is no malformed answer to retry; refusals
        # (SlackWebhookRejected) are ServiceError subclasses and never retried.
        policy = retrying(SERVICE, max_attempts=self.max_attempts, backoff_s=self.backoff_s,
                          backoff_max_s=self.backoff_max_s, retry_after_max_s=self.max_retry_after_s,
                          retry_on=(RateLimited, TransportError), never=(SlackWebhookRejected,))
        try:
            response = policy(once)
        except ServiceError as exc:
            log.warning("slack message NOT delivered (%d attempt%s): %s", attempts, "" if attempts == 1 else "s",
                        exc.message)
            raise
        log.info("slack message delivered (%d attempt%s)", attempts, "" if attempts == 1 else "s")
        return SlackPost(delivered=True, dry_run=False, status=response.status_code, attempts=attempts)

    # -- plumbing ---------------------------------------------------------------------------------

    def _webhook(self) -> str | None:
        with self._lock:
            if self._url is None:
                if self.webhook_url:
                    self._url = self.webhook_url
                elif self.demo_home:
                    from revops_assets.resources.core import resolve_base_url

                    self._url = resolve_base_url(SERVICE, "", self.demo_home).rstrip("/") + DEMO_WEBHOOK_PATH
                if self._url is not None:
                    _install_redaction()
                    # urllib3 retries nothing (max_retries=0): the policy lives in post(), in one place.
                    self._session = make_session(max_retries=0, connect_timeout_s=min(5.0, self.timeout_s),
                                                 read_timeout_s=self.timeout_s)
                    if self.min_interval_s > 0:
                        self._pace = RateLimiter(1, self.min_interval_s)
            return self._url

    def _send(self, url: str, payload: dict) -> requests.Response:
        try:
            if self._pace is None:
                response = self._session.post(url, json=payload)
            else:
                with self._pace:
                    response = self._session.post(url, json=payload)
        except requests.RequestException as exc:
            # requests' messages name the URL path, which is the secret: report only the kind.
            raise TransportError(SERVICE, None, f"{type(exc).__name__} posting to the webhook") from None
        status = response.status_code
        if status < 300:
            return response
        code = (response.text or "").strip()[:100] or f"http_{status}"
        if status == 429:
            raise RateLimited(SERVICE, status, f"throttled ({code})", code,
                              retry_after_seconds(response.headers.get("Retry-After")))
        if status >= 500:
            raise ServiceError(SERVICE, status, f"server error ({code})", code)
        raise SlackWebhookRejected(status, code)


def _preview(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


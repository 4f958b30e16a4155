"""SlackResource against the Slack webhook emulator over real HTTP: delivery, dry run, retries, secrecy."""

from __future__ import annotations

import logging
import time
import traceback
from pathlib import Path

import pytest
import requests

from revops_assets.emulators import slack as slack_emulator
from revops_assets.emulators._server import DocStore, EmulatorServer, FaultInjector, Faults
from revops_assets.resources._http import RateLimited, ServiceError, TransportError
from revops_assets.resources.slack import SlackResource, SlackWebhookRejected

SECRET = "xK9secretTokenZ42"


def scripted(app, script: list[str], timeout_s: float = 0.5) -> FaultInjector:
    """The listed faults on the first requests, in order, then everything through."""
    return FaultInjector(app, Faults(timeout_s=timeout_s), slack_emulator.error_response, script=script)


class Emulator:
    def __init__(self, store: DocStore, sample_dir: Path, script: list[str] | None = None, bare: bool = False):
        self.store = store
        self.app = slack_emulator.build_app(store, sample_dir)
        self.app.state.min_interval_s = 0.0  # the 1 msg/s limit is exercised on its own
        if bare:
            self.injector = None
            self.server = EmulatorServer(self.app).start()
        else:
            self.injector = scripted(self.app, script or [])
            self.server = EmulatorServer(self.injector).start()

    def webhook(self, team: str = "T0001", bot: str = "B0001", token: str = SECRET) -> str:
        return f"{self.server.url}/services/{team}/{bot}/{token}"

    def client(self, **overrides) -> SlackResource:
        config = dict(webhook_url=self.webhook(), timeout_s=2.0, max_attempts=4, backoff_s=0.001,
                      backoff_max_s=0.01, max_retry_after_s=0.01, min_interval_s=0.0)  # no pacing: see below
        return SlackResource(**(config | overrides))

    @property
    def requests(self) -> int:
        return self.injector.stats["requests"]

    @property
    def messages(self) -> list[dict]:
        return list(self.store.all(slack_emulator.COLLECTION))


@pytest.fixture
def emulator(tmp_path: Path):
    made: list[Emulator] = []

    def make(**kwargs) -> Emulator:
        made.append(Emulator(DocStore(tmp_path / f"slack{len(made)}.sqlite"), tmp_path / "sample", **kwargs))
        return made[-1]

    yield make
    for emu in made:
        emu.server.stop()


def test_unset_webhook_is_a_logged_dry_run(caplog):
    caplog.set_level(logging.INFO)
    result = SlackResource(webhook_url=None).post("Deal ACME-42 stalled for 14 days")
    assert (result.delivered, result.dry_run, result.status, result.error) == (False, True, None, None)
    assert "would post 'Deal ACME-42 stalled for 14 days'" in caplog.text
    assert SlackResource(webhook_url="").post("x").dry_run  # an empty EnvVar counts as unset


def test_post_delivers_and_the_emulator_stores_the_message(emulator):
    emu = emulator()
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*ACME-42* stalled"}}]
    result = emu.client().post("ACME-42 stalled", blocks=blocks)
    assert (result.delivered, result.dry_run, result.status, result.attempts) == (True, False, 200, 1)
    (message,) = emu.messages
    assert message["text"] == "ACME-42 stalled" and message["blocks"] == blocks
    assert message["webhook"] == "T0001/B0001" and message["received_at"].endswith("+00:00")
    assert SECRET not in str(message)  # the emulator does not keep the secret either


def test_blocks_alone_are_a_valid_message(emulator):
    emu = emulator()
    blocks = [{"type": "section", "text": {"type": "plain_text", "text": "hi"}}]
    assert emu.client().post("", blocks=blocks).delivered
    assert emu.messages[0]["blocks"] == blocks


def test_messages_listing_endpoint(emulator):
    emu = emulator(bare=True)  # FaultInjector answers /_emulator/* itself, so list from the bare app
    client = SlackResource(webhook_url=emu.webhook(), backoff_s=0.001)
    client.post("one")
    client.post("two")
    listed = requests.get(f"{emu.server.url}/_emulator/messages").json()["messages"]
    assert [m["text"] for m in listed] == ["one", "two"]


@pytest.mark.parametrize("fault", ["429", "5xx", "timeout"])
def test_transient_faults_are_retried(emulator, fault):
    emu = emulator(script=[fault, fault])
    result = emu.client(timeout_s=0.25).post("retry me")
    assert result.delivered and result.attempts == 3
    assert emu.requests == 3 and len(emu.messages) == 1


@pytest.mark.parametrize("fault,error", [("429", RateLimited), ("5xx", ServiceError), ("timeout", TransportError)])
def test_exhausted_retries_raise_the_typed_error(emulator, fault, error, caplog):
    emu = emulator(script=[fault] * 10)
    with pytest.raises(error):
        emu.client(max_attempts=3, timeout_s=0.25).post("lost?")
    assert emu.requests == 3 and emu.messages == []
    assert "NOT delivered (3 attempts)" in caplog.text


def test_rate_limit_honours_retry_after_within_the_bound(emulator):
    emu = emulator()
    emu.app.state.min_interval_s = 0.3  # the emulator answers 429 with Retry-After: 1
    client = emu.client(max_retry_after_s=0.35)
    assert client.post("first").attempts == 1
    started = time.monotonic()
    second = client.post("second")
    waited = time.monotonic() - started
    assert second.delivered and second.attempts == 2
    assert 0.3 <= waited < 0.9  # slept the bounded Retry-After (0.35 s), not the full second
    assert [m["text"] for m in emu.messages] == ["first", "second"]


def test_posts_are_paced_to_slacks_one_per_second_so_none_is_throttled(emulator):
    emu = emulator()
    emu.app.state.min_interval_s = 1.0  # Slack's limit, as the emulator enforces it
    client = emu.client(min_interval_s=1.0)  # the resource's default
    results = [client.post(f"alert {n}") for n in range(3)]
    assert [r.attempts for r in results] == [1, 1, 1]  # paced, not answered 429 and retried
    assert emu.requests == 3 and [m["text"] for m in emu.messages] == ["alert 0", "alert 1", "alert 2"]


@pytest.mark.parametrize("team,status,code", [("Tarchived", 410, "channel_is_archived"),
                                              ("Tnotfound", 404, "channel_not_found"),
                                              ("Tprohibited", 403, "action_prohibited")])
def test_refusals_raise_without_retrying(emulator, team, status, code):
    emu = emulator()
    with pytest.raises(SlackWebhookRejected) as info:
        emu.client(webhook_url=emu.webhook(team=team)).post("hello")
    assert (info.value.status, info.value.code) == (status, code)
    assert emu.requests == 1


def test_empty_message_is_an_invalid_payload(emulator):
    emu = emulator()
    with pytest.raises(SlackWebhookRejected) as info:
        emu.client().post("")
    assert (info.value.status, info.value.code) == (400, "invalid_payload") and emu.requests == 1


def test_the_webhook_url_never_reaches_logs_or_errors(emulator, caplog):
    caplog.set_level(logging.DEBUG)  # urllib3's request lines included
    emu = emulator(script=["429", "5xx"])
    emu.client().post("delivered after retries")
    archived = emu.client(webhook_url=emu.webhook(team="Tarchived"))
    with pytest.raises(SlackWebhookRejected) as refused:
        archived.post("refused")
    down = SlackResource(webhook_url=f"http://127.0.0.1:9/services/T1/B1/{SECRET}", max_attempts=2, backoff_s=0.001,
                         timeout_s=0.5)
    with pytest.raises(TransportError) as unreachable:
        down.post("nobody listening")
    for error in (refused.value, unreachable.value):
        rendered = "".join(traceback.format_exception(error))
        assert SECRET not in rendered and "/services/" not in rendered
    assert "channel_is_archived" in str(refused.value)
    assert "/services/T0001/B0001/***" in caplog.text  # urllib3's line was there, masked
    assert SECRET not in caplog.text


def test_emulator_contract(emulator):
    emu = emulator(bare=True)
    hook = emu.webhook()
    assert requests.post(hook, json={"text": "ok"}).text == "ok"
    bad_json = requests.post(hook, data=b"{not json", headers={"Content-Type": "application/json"})
    assert (bad_json.status_code, bad_json.text) == (400, "invalid_payload")
    assert requests.post(hook, json={"username": "bot"}).status_code == 400
    form = requests.post(hook, data={"payload": '{"text": "from a form"}'})
    assert form.status_code == 200 and emu.messages[-1]["text"] == "from a form"
    emu.app.state.min_interval_s = slack_emulator.MIN_INTERVAL_S
    requests.post(hook, json={"text": "a"})
    throttled = requests.post(hook, json={"text": "b"})
    assert (throttled.status_code, throttled.text, throttled.headers["Retry-After"]) == (429, "rate_limited", "1")
    # the limit is per webhook: another one is not throttled
    assert requests.post(emu.webhook(bot="B0002"), json={"text": "c"}).status_code == 200


def test_demo_wiring_posts_to_the_embedded_emulator(demo_home: Path):
    """As build_resources wires demo: no webhook URL, a demo home; alerts land in the emulator's store."""
    result = SlackResource(webhook_url="", demo_home=str(demo_home)).post("demo alert")
    assert result.delivered and not result.dry_run
    stored = DocStore(demo_home / "emulators" / "slack.sqlite")
    assert [m["text"] for m in stored.all(slack_emulator.COLLECTION)] == ["demo alert"]

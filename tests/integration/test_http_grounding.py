"""`HttpGroundingExecutor` against a real OpenAI-compatible HTTP server on loopback.

The server stands in for a served grounding model (UI-TARS on vLLM): it knows the
screen, reads the target description from the prompt the client sent, and answers
with the centre of the screen element whose text that description contains - so a
client that sends the wrong target, model or key gets a wrong point or an error.
Scripted misbehaviour (sleeping past the timeout, 500s, echoing headers) exercises
retries and the fallback to the planner's point; a raw-socket server that drips its
reply a byte at a time checks the deadline holds over the whole exchange.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tracer1.actions import Box, Click
from tracer1.executors import ExecutingEnv, GuiExecutorConfig, HttpGroundingExecutor
from tracer1.executors.grounding_http import urllib_post
from tracer1.trajectory import Element, Observation, Task

pytestmark = pytest.mark.integration

MODEL = "ui-tars-test"
KEY_ENV = "TRACER1_TEST_GROUNDING_KEY"
SECRET = "sk-loopback-secret-7e1f"
SCREEN = (
    Element("1", "button", "Submit", Box(400, 500, 600, 560)),
    Element("2", "button", "Cancel", Box(700, 500, 900, 560)),
    Element("3", "a", "Forgot password?", Box(100, 800, 500, 840)),
)
OBS = Observation(elements=SCREEN)


class FakeGroundingServer(ThreadingHTTPServer):
    """Chat completions at /v1/chat/completions; `script` says how to treat each request."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.script: list[str] = []  # per request: "ok", "sleep", "500", "echo"; then "ok"
        self.sleep_s = 2.0
        self.requests: list[dict] = []
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def next_behaviour(self) -> str:
        with self.lock:
            return self.script.pop(0) if self.script else "ok"

    def handle_error(self, request, client_address):
        pass  # a client that gave up closes the socket under a sleeping handler: expected


class Handler(BaseHTTPRequestHandler):
    server: FakeGroundingServer

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, "headers": dict(self.headers),
                                     "body": body})
        behaviour = self.server.next_behaviour()
        if behaviour == "sleep":
            self.server.stopping.wait(self.server.sleep_s)
        if behaviour == "500":
            return self.reply(500, {"error": "model overloaded"})
        if self.path != "/v1/chat/completions" or body.get("model") != MODEL:
            return self.reply(404, {"error": "no such route or model"})
        if self.headers.get("Authorization") != f"Bearer {SECRET}":
            return self.reply(401, {"error": "bad key"})
        if behaviour == "echo":  # hostile: the request's key back as the "answer"
            return self.reply(200, completion(f"you sent {self.headers['Authorization']}"))
        return self.reply(200, completion(self.ground(body)))

    def ground(self, body: dict) -> str:
        content = body["messages"][0]["content"]
        text = content if isinstance(content, str) else next(
            part["text"] for part in content if part["type"] == "text")
        target = next(json.loads(line.removeprefix("Target:")) for line in text.splitlines()
                      if line.startswith("Target:"))
        for element in SCREEN:
            if element.text.casefold() in target.casefold():
                x, y = element.box.center
                return f"Thought: that is the {element.tag}.\nAction: click(start_box='({x},{y})')"
        return "I cannot find that element on the screen."

    def reply(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client timed out and left


def completion(content: str) -> dict:
    return {"id": "cmpl-1", "object": "chat.completion", "model": MODEL,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}]}


@pytest.fixture
def server() -> Iterator[FakeGroundingServer]:
    srv = FakeGroundingServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.stopping.set()  # release sleeping handlers
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, SECRET)


def executor_for(server: FakeGroundingServer, **overrides) -> HttpGroundingExecutor:
    fields = {"kind": "http", "base_url": server.url, "model": MODEL, "api_key_env": KEY_ENV,
              "timeout_s": 5.0, "retries": 2, "backoff_s": 0.01, **overrides}
    return HttpGroundingExecutor(GuiExecutorConfig(**fields))


def test_resolves_the_described_element(server):
    executor = executor_for(server)
    planned = Click(10, 10, target="the Cancel button")
    assert executor.resolve(planned, OBS) == Click(800, 530, target="the Cancel button")
    assert executor.resolve(Click(10, 10, target="Forgot password?"), OBS).x == 300
    assert (executor.failures, executor.requests, len(server.requests)) == (0, 2, 2)
    sent = server.requests[0]
    assert sent["headers"]["Authorization"] == f"Bearer {SECRET}"
    assert sent["headers"]["Content-Type"] == "application/json"
    prompt = sent["body"]["messages"][0]["content"]
    assert '[3] a "Forgot password?" [100, 800, 500, 840]' in prompt


def test_unknown_target_falls_back_to_the_planners_point(server):
    executor = executor_for(server)
    planned = Click(10, 10, target="Delete my account")
    assert executor.resolve(planned, OBS) is planned
    assert (executor.failures, len(server.requests)) == (1, 1)  # an answer: no retry


def test_timeouts_are_retried_then_fall_back(server):
    server.script = ["sleep"] * 3
    executor = executor_for(server, timeout_s=0.3, retries=2)
    planned = Click(10, 10, target="Submit")
    started = time.monotonic()
    assert executor.resolve(planned, OBS) is planned
    elapsed = time.monotonic() - started
    assert (executor.failures, executor.requests, len(server.requests)) == (1, 3, 3)
    assert 0.9 <= elapsed < server.sleep_s  # three 0.3 s timeouts, not one 2 s wait


def test_a_timeout_then_an_answer_resolves(server):
    server.script = ["sleep", "ok"]
    executor = executor_for(server, timeout_s=0.3, retries=1)
    assert executor.resolve(Click(10, 10, target="Submit"), OBS) == Click(500, 530,
                                                                          target="Submit")
    assert (executor.failures, len(server.requests)) == (0, 2)


def test_server_errors_are_retried(server):
    server.script = ["500", "500", "ok"]
    executor = executor_for(server, retries=2)
    assert executor.resolve(Click(10, 10, target="Submit"), OBS).x == 500
    assert (executor.failures, len(server.requests)) == (0, 3)

    server.script = ["500"] * 2
    executor = executor_for(server, retries=1)
    planned = Click(10, 10, target="Submit")
    assert executor.resolve(planned, OBS) is planned
    assert (executor.failures, len(server.requests)) == (1, 5)


def test_wrong_key_is_not_retried(server, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-wrong")
    executor = executor_for(server)
    planned = Click(10, 10, target="Submit")
    assert executor.resolve(planned, OBS) is planned
    assert (executor.failures, len(server.requests)) == (1, 1)


def test_the_key_is_sent_but_never_logged(server, caplog):
    server.script = ["500", "500", "500", "echo"]
    executor = executor_for(server, retries=2)
    with caplog.at_level(logging.DEBUG):
        executor.resolve(Click(10, 10, target="Submit"), OBS)  # 500s: retried, logged
        executor.resolve(Click(10, 10, target="Submit"), OBS)  # the key echoed back
    assert all(r["headers"]["Authorization"] == f"Bearer {SECRET}" for r in server.requests)
    assert executor.failures == 2
    assert "HTTP Error 500" in caplog.text and "Bearer ***" in caplog.text
    assert SECRET not in caplog.text


def test_executing_env_with_the_served_model(server):
    class OneScreen:
        def __init__(self):
            self.executed = []

        def reset(self, task):
            return OBS

        def step(self, action):
            self.executed.append(action)
            return OBS, 0.0, False, {"point": [action.x, action.y]}

        def close(self):
            pass

    env = ExecutingEnv(OneScreen(), executor_for(server))
    env.reset(Task("t", "fake", "f", 0, "cancel the form"))
    _, _, _, info = env.step(Click(10, 10, target="Cancel"))
    assert info == {"point": [800, 530], "planned_point": [10, 10]}


# ------------------------------------------------------------ a server that drips


class DripServer:
    """A raw-socket HTTP server on loopback that sends its reply one byte per `gap_s`.

    ``mode="body"``: status line and headers at once, then a `size`-byte body (a
    completion answering ``(500, 530)``, padded) dripped; ``mode="headers"``: the
    status line, then `size` bytes of one header dripped, then the rest. Every
    byte arrives well inside any socket timeout, so only a deadline over the whole
    exchange stops the client. A client that gives up ends the drip (the send fails).
    """

    def __init__(self, mode: str, *, size: int = 60, gap_s: float = 0.1):
        self.mode, self.size, self.gap_s = mode, size, gap_s
        self.sent: list[int] = []  # bytes dripped, per connection
        self.stopping = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"

    def _serve(self) -> None:
        self.sock.settimeout(0.05)
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                self._drip(conn)

    def _drip(self, conn: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:  # the body is tiny and sent with the headers
            request += conn.recv(65536)
        answer = {"choices": [{"message": {"content": "(500, 530)"}}]}
        body = json.dumps(answer, separators=(",", ":")).encode().ljust(self.size)
        if self.mode == "body":
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            drip, tail = body, b""
        else:
            head = b"HTTP/1.1 200 OK\r\nX-Pad: "
            drip = b"a" * self.size
            tail = f"\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
        self.sent.append(0)
        try:
            conn.sendall(head)
            for i in range(len(drip)):
                if self.stopping.wait(self.gap_s):
                    return
                conn.sendall(drip[i:i + 1])
                self.sent[-1] += 1
            conn.sendall(tail)
        except OSError:
            pass  # the client hung up: what the deadline is for

    def close(self) -> None:
        self.stopping.set()
        self.sock.close()
        self.thread.join(timeout=5)


@pytest.fixture
def drip():
    servers: list[DripServer] = []

    def start(mode: str, **kw) -> DripServer:
        servers.append(DripServer(mode, **kw))
        return servers[-1]

    yield start
    for srv in servers:
        srv.close()


DEADLINE_S = 0.5
SLACK_S = 1.0  # two busy cores; the drip itself would take 6 s


@pytest.mark.parametrize("mode", ["body", "headers"])
def test_a_dripping_server_cannot_outlast_the_deadline(drip, mode):
    srv = drip(mode)  # 60 bytes, one per 0.1 s: each read waits 0.1 s, far below 0.5 s
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        urllib_post(srv.url + "/chat/completions", b"{}", {"Content-Type": "application/json"},
                    DEADLINE_S)
    elapsed = time.monotonic() - started
    assert DEADLINE_S * 0.9 <= elapsed < DEADLINE_S + SLACK_S
    assert 0 < srv.sent[0] < srv.size  # cut off mid-drip (the whole drip takes 6 s)


@pytest.mark.parametrize("mode", ["body", "headers"])
def test_the_executor_falls_back_within_the_deadline_per_attempt(drip, mode):
    """The documented worst case, ``(retries + 1) * timeout_s`` plus the backoff, holds."""
    srv = drip(mode)
    executor = executor_for(srv, timeout_s=DEADLINE_S, retries=1, backoff_s=0.01)
    planned = Click(10, 10, target="Submit")
    started = time.monotonic()
    assert executor.resolve(planned, OBS) is planned
    elapsed = time.monotonic() - started
    assert (executor.failures, executor.requests, len(srv.sent)) == (1, 2, 2)
    assert elapsed < 2 * DEADLINE_S + 0.01 + SLACK_S


def test_a_reply_that_drips_inside_the_deadline_is_read(drip):
    srv = drip("body", size=80, gap_s=0.002)  # 80 bytes in ~0.2 s
    raw = urllib_post(srv.url + "/chat/completions", b"{}", {}, 5.0)
    assert json.loads(raw)["choices"][0]["message"]["content"] == "(500, 530)"


def test_a_password_in_base_url_is_never_logged(caplog):
    password = "pw-in-the-url-5c1d"

    def refused(url, body, headers, timeout_s):
        raise ConnectionRefusedError(111, "Connection refused")

    config = GuiExecutorConfig(kind="http", base_url=f"http://svc:{password}@127.0.0.1:9/v1",
                               model=MODEL, retries=1, backoff_s=0.0)
    executor = HttpGroundingExecutor(config, transport=refused, sleep=lambda s: None)
    with caplog.at_level(logging.DEBUG):
        planned = Click(10, 10, target="Submit")
        assert executor.resolve(planned, OBS) is planned
    assert "http://svc:***@127.0.0.1:9/v1/chat/completions" in caplog.text
    assert password not in caplog.text + repr(executor)

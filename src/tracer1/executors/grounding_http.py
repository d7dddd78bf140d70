"""A grounding model served over HTTP as a frozen GUI executor (OpenAI-compatible API).

For cluster runs the grounding step can be a real model - e.g. a UI-TARS-style VLM
behind vLLM's ``/v1/chat/completions``. `HttpGroundingExecutor` sends it the
*instruction-free* grounding prompt (the action's `target` description and the
observation's elements; the screenshot as a ``data:`` URL when there is one) and
executes the point it answers. Standard library only (`urllib.request`, `json`).

The server is untrusted: the reply body is read up to `MAX_BODY_BYTES`, only the
first `MAX_REPLY_CHARS` of the answer are looked at, coordinates are found by
bounded regular expressions (never evaluated) and clipped to the grid. A server
that times out, refuses or answers nonsense costs nothing but grounding: the
executor falls back to the planner's own point, counts it in `failures` and logs
why (never the API key, which is read from an environment variable named in the
config and sent only as a Bearer header; redirects are not followed, so the key
cannot be forwarded to another host).

>>> parse_point("click(start_box='(235,512)')")
(235, 512)
>>> parse_point('{"x": 0.25, "y": 0.5}', scale=1.0)
(250, 500)
>>> parse_point("I cannot see a submit button.") is None
True
"""

from __future__ import annotations

import base64
import functools
import http.client
import io
import json
import logging
import math
import os
import re
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tracer1.actions import GRID, Action, Box
from tracer1.executors.gui import (
    GuiExecutorConfig,
    Point,
    groundable_target,
    move_to,
)
from tracer1.trajectory import Element, Observation

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024  # a chat completion with a point in it is a few hundred bytes
MAX_REPLY_CHARS = 4_096  # of the model's answer text, searched for a point
MAX_REPLY_TOKENS = 128  # asked of the server: the answer is one point
MAX_PROMPT_ELEMENTS = 200
MAX_ELEMENT_TEXT = 80
MAX_SCREENSHOT_BYTES = 8 * 1024 * 1024
MAX_BACKOFF_S = 30.0
_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                ".webp": "image/webp"}

# POST url, body, headers, timeout -> response body; raises OSError (urllib.error.HTTPError
# for an HTTP status), http.client.HTTPException or ReplyError. Injectable for tests.
Transport = Callable[[str, bytes, Mapping[str, str], float], bytes]


class ReplyError(ValueError):
    """The server's reply is unusable (too large, slower than the deadline)."""


# ------------------------------------------------------------------ pure: request


def completions_url(base_url: str) -> str:
    """The chat-completions endpoint of a server root or its ``/v1``; http(s) only.

    >>> completions_url("http://vllm:8000"), completions_url("https://h/v1/")
    ('http://vllm:8000/v1/chat/completions', 'https://h/v1/chat/completions')
    """
    if not re.match(r"https?://[^/\s]+", base_url):
        # urllib would also open file:// and ftp:// URLs; a grounding server is neither.
        raise ValueError(f"base_url must be an http(s) URL, got {base_url[:100]!r}")
    base = base_url.rstrip("/")
    return f"{base}/chat/completions" if base.endswith("/v1") else f"{base}/v1/chat/completions"


def _coordinate(value: float, scale: float) -> str:
    scaled = value * scale / GRID
    return str(round(scaled)) if scale >= GRID else f"{scaled:.4g}"


def grounding_prompt(target: str, elements: Sequence[Element], scale: float = GRID) -> str:
    """The instruction-free grounding prompt: what to find, what is on screen, the format.

    The task instruction is deliberately absent: the grounding model only turns
    the planner's description into a point. Boxes are written in the coordinates
    asked for (`scale`), so the model answers in the units it was shown.

    >>> submit = Element("4", "button", "Submit", Box(400, 500, 600, 560))
    >>> print(grounding_prompt("Submit", [submit]))
    Target: "Submit"
    Screen elements (ref, tag, text, box [left, top, right, bottom]):
    [4] button "Submit" [400, 500, 600, 560]
    Coordinates: from 0 to 1000 across the screen, x from the left, y from the top.
    Reply with the point to click on the target as (x, y) and nothing else.
    """
    lines = [f"Target: {json.dumps(target, ensure_ascii=False)}"]
    if elements:
        lines.append("Screen elements (ref, tag, text, box [left, top, right, bottom]):")
        for e in elements[:MAX_PROMPT_ELEMENTS]:
            box = ", ".join(_coordinate(v, scale) for v in e.box.to_list())
            text = json.dumps(e.text[:MAX_ELEMENT_TEXT], ensure_ascii=False)
            lines.append(f"[{e.ref[:40]}] {e.tag[:40]} {text} [{box}]")
        if len(elements) > MAX_PROMPT_ELEMENTS:
            lines.append(f"... {len(elements) - MAX_PROMPT_ELEMENTS} more elements not listed")
    lines.append(f"Coordinates: from 0 to {scale:g} across the screen, x from the left, "
                 "y from the top.")
    lines.append("Reply with the point to click on the target as (x, y) and nothing else.")
    return "\n".join(lines)


def chat_request(model: str, prompt: str, image_url: str | None = None) -> dict[str, Any]:
    """The chat-completions body: one user turn, greedy, a short answer.

    >>> chat_request("ui-tars", "Target: ...")["messages"][0]["content"]
    'Target: ...'
    """
    content: str | list[dict[str, Any]] = prompt
    if image_url is not None:
        content = [{"type": "image_url", "image_url": {"url": image_url}},
                   {"type": "text", "text": prompt}]
    return {"model": model, "messages": [{"role": "user", "content": content}],
            "temperature": 0.0, "max_tokens": MAX_REPLY_TOKENS}


# ------------------------------------------------------------------ pure: reply


def reply_text(body: bytes) -> str | None:
    """The assistant's answer in a chat-completions response body (its first
    `MAX_REPLY_CHARS`), or None when the body is not one.

    >>> reply_text(b'{"choices": [{"message": {"content": "(1, 2)"}}]}')
    '(1, 2)'
    >>> reply_text(b'[' * 100_000) is None
    True
    """
    if len(body) > MAX_BODY_BYTES:
        return None
    try:
        content = json.loads(body)["choices"][0]["message"]["content"]
    except (ValueError, RecursionError, KeyError, IndexError, TypeError):
        return None  # not JSON (or too deeply nested for the decoder), or not a completion
    if isinstance(content, list):  # content parts: keep the text ones
        content = "".join(part["text"] for part in content
                          if isinstance(part, dict) and isinstance(part.get("text"), str))
    return content[:MAX_REPLY_CHARS] if isinstance(content, str) else None


# A number: bounded digits (linear-time matching on any input), never the middle of a
# longer number (so a 500-digit value is no number rather than a wrong one).
_N = r"((?<![\d.])[-+]?\d{1,9}(?:\.\d{1,9})?(?!\.?\d))"
_SEP = r"\s*,\s*"
_Q = r"""["']?"""  # an optional quote (JSON keys and string values)
_PATTERNS: list[tuple[re.Pattern[str], int]] = [  # (pattern, numbers); the first that matches
    # click(x=12, y=34) / {"x": 12, "y": 34} / x: 0.1, y: 0.2
    # (no two `\s*` side by side anywhere: that would backtrack quadratically)
    (re.compile(rf"(?<!\w)x{_Q}\s*[:=]\s*{_Q}{_N}{_Q}\s*(?:[,;.]\s*)?{_Q}y{_Q}\s*[:=]\s*{_Q}{_N}",
                re.IGNORECASE), 2),
    (re.compile(rf"<point>\s*{_N}\s*(?:,\s*)?{_N}\s*</point>", re.IGNORECASE), 2),
    # (x1,y1),(x2,y2) and [x1, y1, x2, y2]: boxes, executed at their centre
    (re.compile(rf"\(\s*{_N}{_SEP}{_N}\s*\)\s*(?:,\s*)?\(\s*{_N}{_SEP}{_N}\s*\)"), 4),
    (re.compile(rf"[\[(]\s*{_N}{_SEP}{_N}{_SEP}{_N}{_SEP}{_N}\s*[\])]"), 4),
    (re.compile(rf"[\[(]\s*{_N}{_SEP}{_N}\s*[\])]"), 2),
    (re.compile(rf"\s*{_N}\s*(?:,\s*)?{_N}\s*"), 2),  # the whole reply is "x y" (fullmatch)
]


def parse_point(reply: str, scale: float = GRID) -> Point | None:
    """The point in a grounding model's reply, on the 0-1000 grid; None if there is none.

    Shapes, in order of preference: ``x=.., y=..`` (also JSON ``"x": ..``),
    ``<point>x y</point>``, a box as ``(x1,y1),(x2,y2)`` or ``[x1, y1, x2, y2]``
    (its centre), ``(x, y)`` or ``[x, y]``, and a bare ``x y`` reply. `scale` is
    the range of the model's numbers: 1000 for the grid, 1 for fractions of the
    screen. Values outside the screen are clipped to its edge.

    >>> parse_point("<point>0.5 0.25</point>", scale=1)
    (500, 250)
    >>> parse_point("[100, 200, 300, 400]"), parse_point("(1500, -3)")
    ((200, 300), (1000, 0))
    """
    if not isinstance(reply, str):
        return None
    reply = reply[:MAX_REPLY_CHARS]
    for i, (pattern, count) in enumerate(_PATTERNS):
        last = i == len(_PATTERNS) - 1
        match = pattern.fullmatch(reply) if last else pattern.search(reply)
        if match is None:
            continue
        values = [float(v) * GRID / scale for v in match.groups()]
        if count == 4:
            values = [(values[0] + values[2]) / 2, (values[1] + values[3]) / 2]
        if not all(math.isfinite(v) for v in values):
            return None
        x, y = (min(max(math.floor(v + 0.5), 0), GRID) for v in values)  # half up
        return x, y
    return None


# ------------------------------------------------------------------ I/O


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect would carry the Authorization header to wherever it points.
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001
        return None


def _time_left(deadline: float, timeout_s: float) -> float:
    """Seconds until `deadline`; TimeoutError once it has passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError(f"no complete reply within {timeout_s:g} s")
    return left


class _DeadlineSocket:
    """A connected socket whose every wait is cut to what is left of one deadline.

    A socket timeout bounds each wait, not the exchange: a server that sends one byte
    just inside it, again and again, holds a read for ever (a body dripped at one byte
    per 0.4 s held one action for 202 s). Before each send and receive the timeout is
    set to the time left, so the whole exchange - request, status line, headers, body -
    ends by the deadline. `http.client` only sends, reads through `makefile` and
    closes; the file keeps the socket open until it is closed too, as a real one does.
    """

    def __init__(self, sock: socket.socket, deadline: float, timeout_s: float):
        self._sock = sock
        self._deadline = deadline
        self._timeout_s = timeout_s
        self._files = 0
        self._closed = False

    def _arm(self) -> None:
        self._sock.settimeout(_time_left(self._deadline, self._timeout_s))

    def sendall(self, data: bytes) -> None:
        self._arm()  # since 3.5 the timeout bounds the whole sendall
        self._sock.sendall(data)

    def recv_into(self, buffer: Any) -> int:
        self._arm()
        return self._sock.recv_into(buffer)

    def makefile(self, mode: str = "rb", buffering: int | None = None) -> io.BufferedReader:
        if mode != "rb":
            raise ValueError(f"only binary reads are supported, not {mode!r}")
        self._files += 1
        return io.BufferedReader(_DeadlineReader(self))

    def _file_closed(self) -> None:
        self._files -= 1
        if self._closed and self._files <= 0:
            self._sock.close()

    def close(self) -> None:
        self._closed = True
        if self._files <= 0:
            self._sock.close()

    def __getattr__(self, name: str) -> Any:  # setsockopt, fileno, ...
        return getattr(self._sock, name)


class _DeadlineReader(io.RawIOBase):
    """The raw file under `_DeadlineSocket.makefile`: every read armed with the time left."""

    def __init__(self, sock: _DeadlineSocket):
        super().__init__()
        self._owner = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._owner.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            super().close()
            self._owner._file_closed()


class _DeadlineHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection whose connect, send and every read end by one deadline."""

    def __init__(self, *args: Any, deadline: float, timeout_s: float, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._deadline, self._timeout_s = deadline, timeout_s
        self._create_connection = self._connect_socket

    def _connect_socket(self, address: Any, timeout: Any, source_address: Any = None
                        ) -> socket.socket:
        sock = socket.create_connection(address, _time_left(self._deadline, self._timeout_s),
                                        source_address)
        # What is left after connecting bounds the TLS handshake (one timed operation).
        sock.settimeout(_time_left(self._deadline, self._timeout_s))
        return sock

    def connect(self) -> None:
        super().connect()
        self.sock = _DeadlineSocket(self.sock, self._deadline, self._timeout_s)


class _DeadlineHTTPSConnection(_DeadlineHTTPConnection, http.client.HTTPSConnection):
    """The same over TLS: `HTTPSConnection.connect` wraps the timed socket, then the
    deadline wraps the TLS one."""


class _DeadlineHandler(urllib.request.HTTPHandler, urllib.request.HTTPSHandler):
    """Opens http and https with the deadline connections (proxies still apply)."""

    def __init__(self, deadline: float, timeout_s: float):
        urllib.request.HTTPHandler.__init__(self)
        urllib.request.HTTPSHandler.__init__(self)
        self._conn_args = {"deadline": deadline, "timeout_s": timeout_s}

    def http_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(functools.partial(_DeadlineHTTPConnection, **self._conn_args), req)

    def https_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(functools.partial(_DeadlineHTTPSConnection, **self._conn_args),
                            req, context=self._context)


def urllib_post(url: str, body: bytes, headers: Mapping[str, str], timeout_s: float) -> bytes:
    """POST `body`; the response body, at most `MAX_BODY_BYTES`, within `timeout_s` in all.

    `timeout_s` is a wall-clock deadline over the whole exchange - connect, request,
    status line, headers, body: every socket wait gets only what is left of it
    (`_DeadlineSocket`), so a server dripping bytes cannot hold a step for longer
    than one timeout. (Name resolution is not bounded by it: the system resolver
    cannot be interrupted; a grounding server is an address or a cluster name.)
    """
    deadline = time.monotonic() + timeout_s
    opener = urllib.request.build_opener(_NoRedirect, _DeadlineHandler(deadline, timeout_s))
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    with opener.open(request, timeout=timeout_s) as response:
        chunks, size = [], 0
        while chunk := response.read1(16_384):  # what has arrived, not a full 16 KiB
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise ReplyError(f"reply over {MAX_BODY_BYTES} bytes")
            chunks.append(chunk)
    return b"".join(chunks)


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code == 429 or exc.code >= 500  # busy or broken; a 4xx will not improve
    return isinstance(exc, OSError | http.client.HTTPException)  # timeout, refused, reset


class HttpGroundingExecutor:
    """Executes a click (scroll) at the point a served grounding model gives for its `target`.

    Per action with a target: one request, retried after a timeout, connection
    error, 429 or 5xx (`retries` times, exponential `backoff_s`); not retried after
    another 4xx or an unparseable answer (a greedy model answers the same again).
    Whenever no point comes back, the planner's action executes as planned and
    `failures` grows by one. `requests` counts HTTP attempts. Actions without a
    target, and type/press/select, never reach the server.
    """

    def __init__(self, config: GuiExecutorConfig, *, transport: Transport | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        if not config.model:
            raise ValueError("HttpGroundingExecutor needs config.model")
        self.config = config
        self.url = completions_url(config.base_url)
        self.transport = transport or urllib_post
        self.sleep = sleep
        self.failures = 0
        self.requests = 0
        self._api_key = self._read_key()

    @classmethod
    def from_config(cls, config: GuiExecutorConfig) -> HttpGroundingExecutor:
        return cls(config)

    @property
    def shown_url(self) -> str:
        """`url` as logs show it: a password in it (``http://user:pw@host``) redacted."""
        from tracer1.tracking import redact

        return redact(self.url)

    def _read_key(self) -> str | None:
        name = self.config.api_key_env
        key = os.environ.get(name, "").strip() if name else ""
        return key or None

    def resolve(self, action: Action, observation: Observation) -> Action:
        target = groundable_target(action)
        if target is None:
            return action
        point = self.ground(target, observation)
        if point is None:
            self.failures += 1
            return action
        x, y = point
        return move_to(action, Box(x, y, x, y))

    def ground(self, target: str, observation: Observation) -> Point | None:
        """The served model's point for `target` on this screen, or None (logged)."""
        prompt = grounding_prompt(target, observation.elements, self.config.coordinate_scale)
        body = json.dumps(chat_request(self.config.model, prompt,
                                       self._image_url(observation))).encode()
        raw = self._post(body)
        if raw is None:
            return None
        reply = reply_text(raw)
        point = None if reply is None else parse_point(reply, self.config.coordinate_scale)
        if point is None:
            shown = reply if reply is not None else raw[:MAX_REPLY_CHARS].decode("utf-8", "replace")
            if self._api_key:  # a hostile server could echo the header back; redact, then cut
                shown = shown.replace(self._api_key, "***")
            logger.warning("grounding model at %s: no point in the %s %r; executing the "
                           "planner's point", self.shown_url, "answer" if reply is not None else
                           "reply", shown[:200])
        return point

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "User-Agent": "tracer1-grounding"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _post(self, body: bytes) -> bytes | None:
        attempts = self.config.retries + 1
        problem = ""
        for attempt in range(attempts):
            if attempt:
                self.sleep(min(self.config.backoff_s * 2 ** (attempt - 1), MAX_BACKOFF_S))
            self.requests += 1
            try:
                return self.transport(self.url, body, self._headers(), self.config.timeout_s)
            except (OSError, http.client.HTTPException, ReplyError) as exc:
                # str(HTTPError) is "HTTP Error 500: ..."; no exception here holds headers.
                problem = f"{type(exc).__name__}: {str(exc)[:200]}"
                if isinstance(exc, urllib.error.HTTPError):
                    exc.close()
                if not _retryable(exc):
                    break
                logger.info("grounding model at %s: attempt %d/%d failed (%s)",
                            self.shown_url, attempt + 1, attempts, problem)
        logger.warning("grounding model at %s failed (%s) after %d request(s); executing the "
                       "planner's point", self.shown_url, problem, attempt + 1)
        return None

    def _image_url(self, observation: Observation) -> str | None:
        root, name = self.config.screenshot_root, observation.screenshot
        if root is None or name is None:
            return None
        base = Path(root).resolve()
        path = (base / name).resolve()
        mime = _IMAGE_TYPES.get(path.suffix.lower())
        try:
            if not path.is_relative_to(base) or mime is None:
                raise ValueError("not an image inside screenshot_root")
            if path.stat().st_size > MAX_SCREENSHOT_BYTES:
                raise ValueError(f"over {MAX_SCREENSHOT_BYTES} bytes")
            data = path.read_bytes()
        except (OSError, ValueError) as exc:
            logger.warning("screenshot %r not sent (%s)", name[:200], exc)
            return None
        return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"

    def __getstate__(self) -> dict[str, Any]:
        # The key stays in the environment: a pickled executor (trl workers, dataset
        # fingerprints) must not carry it. It is read again on unpickling.
        state = dict(self.__dict__)
        state.pop("_api_key", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._api_key = self._read_key()

    def __repr__(self) -> str:
        return f"HttpGroundingExecutor(url={self.shown_url!r}, model={self.config.model!r})"


__all__ = [
    "MAX_BODY_BYTES",
    "MAX_REPLY_CHARS",
    "HttpGroundingExecutor",
    "ReplyError",
    "Transport",
    "chat_request",
    "completions_url",
    "grounding_prompt",
    "parse_point",
    "reply_text",
    "urllib_post",
]

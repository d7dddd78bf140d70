"""Frozen GUI executors: element matching, reply parsing, the HTTP client's retry/fallback
logic (on a fake transport) and `ExecutingEnv` (on a fake environment)."""

from __future__ import annotations

import ast
import base64
import dataclasses
import doctest
import inspect
import json
import logging
import pickle
import time
import urllib.error

import pytest

from tracer1.actions import (
    Answer,
    Box,
    Click,
    Done,
    Press,
    Scroll,
    Select,
    Tool,
    Type,
    format_action,
)
from tracer1.config import ConfigError, from_dict
from tracer1.envs.base import Environment
from tracer1.executors import (
    ExecutingEnv,
    GroundingExecutor,
    GuiExecutor,
    GuiExecutorConfig,
    HttpGroundingExecutor,
    PassthroughExecutor,
    grounding_http,
    gui,
    make_gui_executor,
)
from tracer1.executors.grounding_http import (
    MAX_BODY_BYTES,
    MAX_PROMPT_ELEMENTS,
    MAX_REPLY_CHARS,
    completions_url,
    grounding_prompt,
    parse_point,
    reply_text,
)
from tracer1.executors.gui import gui_executor_kinds, match_element
from tracer1.trajectory import Element, Observation, Task

SUBMIT = Element("1", "button", "Submit", Box(400, 500, 600, 560))
SUBMIT_LOWER = Element("2", "button", "submit", Box(0, 0, 100, 60))
CANCEL = Element("3", "button", "Cancel", Box(700, 500, 900, 560))
NAME = Element("4", "input_text", "", Box(100, 200, 900, 260))
HELP = Element("5", "span", "Submit your form below", Box(0, 900, 1000, 960))
OBS = Observation(elements=(SUBMIT, SUBMIT_LOWER, CANCEL, NAME, HELP))


@pytest.mark.parametrize("module", [gui, grounding_http])
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


# ------------------------------------------------------------------ matching


def test_exact_text_beats_a_nearer_case_insensitive_match():
    # SUBMIT_LOWER is nearer the planner's point, but "Submit" matches SUBMIT exactly.
    assert match_element("Submit", OBS.elements, near=(0, 0)) is SUBMIT
    assert match_element("submit", OBS.elements, near=(900, 900)) is SUBMIT_LOWER


def test_case_and_whitespace_insensitive_match():
    assert match_element("  CANCEL\t", OBS.elements) is CANCEL
    # Two loose matches ("Submit", "submit"): the one nearer the planner's point.
    assert match_element("SUBMIT", OBS.elements, near=(50, 30)) is SUBMIT_LOWER
    assert match_element("SUBMIT", OBS.elements, near=(500, 530)) is SUBMIT


def test_element_without_text_is_named_by_its_tag():
    assert match_element("input_text", OBS.elements) is NAME
    assert match_element("the input_text box", OBS.elements) is NAME


def test_token_overlap_picks_the_best_f1():
    # "cancel button": Cancel's text+tag is an exact token match (F1 1.0).
    assert match_element("cancel button", OBS.elements) is CANCEL
    # "your form": only the help text shares tokens.
    assert match_element("your form", OBS.elements) is HELP


def test_ties_go_to_the_nearest_then_to_document_order():
    twins = (Element("a", "button", "OK", Box(0, 0, 100, 100)),
             Element("b", "button", "OK", Box(900, 900, 1000, 1000)),
             Element("c", "button", "OK", Box(0, 0, 100, 100)))
    assert match_element("OK", twins, near=(950, 950)).ref == "b"
    assert match_element("OK", twins, near=(0, 0)).ref == "a"  # a and c equidistant: first
    assert match_element("OK", twins).ref == "a"  # no planner point: document order
    assert match_element("ok", twins, near=(940, 960)).ref == "b"  # same rule in each tier


def test_no_match_and_degenerate_targets():
    assert match_element("Delete account", OBS.elements) is None
    assert match_element("", OBS.elements) is None
    assert match_element("   ", OBS.elements) is None
    assert match_element("Submit", ()) is None
    # Only articles/punctuation: no tokens, so no spurious overlap with empty texts.
    assert match_element("the !", (NAME, Element("9", "div", "", Box(0, 0, 1, 1)))) is None


def test_min_overlap_only_gates_the_overlap_tier():
    assert match_element("your form", OBS.elements, min_overlap=0.9) is None
    assert match_element("Cancel", OBS.elements, min_overlap=0.99) is CANCEL


def test_huge_target_is_bounded():
    started = time.perf_counter()
    assert match_element("word " * 200_000, OBS.elements) is None
    assert time.perf_counter() - started < 2


# ------------------------------------------------------------------ executors


def test_grounding_executor_moves_clicks_to_the_element_centre():
    executor = GroundingExecutor()
    action = Click(10, 10, target="Cancel")
    assert executor.resolve(action, OBS) == Click(800, 530, target="Cancel")


def test_grounding_executor_falls_back_to_the_planners_point():
    executor = GroundingExecutor()
    for action in (Click(10, 10), Click(10, 10, target="Delete account"),
                   Click(10, 10, target="  ")):
        assert executor.resolve(action, OBS) is action
    assert executor.resolve(Click(10, 10, target="Cancel"), Observation()) == Click(10, 10,
                                                                                    target="Cancel")


def test_grounding_executor_scrolls_over_the_element_and_leaves_typing_alone():
    executor = GroundingExecutor()
    scrolled = executor.resolve(Scroll("down", target="Submit your form below"), OBS)
    assert scrolled == Scroll("down", target="Submit your form below")
    assert scrolled.box == HELP.box
    for action in (Type("alice", target="input_text"), Select("Red", target="Cancel"),
                   Press("enter"), Done(), Answer("42"), Tool.of("calculator")):
        assert executor.resolve(action, OBS) is action  # no click-to-focus is added


def test_passthrough_executes_as_planned():
    action = Click(10, 10, target="Cancel")
    assert PassthroughExecutor().resolve(action, OBS) is action
    assert isinstance(PassthroughExecutor(), GuiExecutor)
    assert isinstance(GroundingExecutor(), GuiExecutor)


# ------------------------------------------------------------------ reply parsing


@pytest.mark.parametrize("reply, point", [
    ("(500, 300)", (500, 300)),
    ("[500,300]", (500, 300)),
    ("click(x=12, y=34)", (12, 34)),
    ('{"x": 12, "y": 34}', (12, 34)),
    ('{"x": "12", "y": "34"}', (12, 34)),
    ("X: 12; Y: 34", (12, 34)),
    ("x=500. y=300", (500, 300)),
    ("<point>12 34</point>", (12, 34)),
    ("<POINT> 12, 34 </POINT>", (12, 34)),
    ("click(start_box='<|box_start|>(235,512)<|box_end|>')", (235, 512)),
    ("(10,20),(30,40)", (20, 30)),
    ('[{"bbox_2d": [10, 20, 30, 40], "label": "Submit"}]', (20, 30)),
    ("500 300", (500, 300)),
    ("  500, 300\n", (500, 300)),
    ("Thought: the button is at the bottom.\nAction: click(x=501, y=299)", (501, 299)),
    ("the box [0, 0, 10, 10]; click(x=7, y=8)", (7, 8)),  # an explicit click wins
    ("click(x=1.5, y=2.4)", (2, 2)),
])
def test_parse_point_shapes(reply, point):
    assert parse_point(reply) == point


def test_parse_point_scale():
    assert parse_point("(0.5, 0.25)", scale=1) == (500, 250)
    assert parse_point("(0.5, 0.25)") == (1, 0)  # on the grid scale a fraction is ~0
    assert parse_point("(960, 540)", scale=1920) == (500, 281)


@pytest.mark.parametrize("reply, point", [
    ("(1500, -3)", (1000, 0)),
    ("(99999999, 5)", (1000, 5)),
    ("click(x=-1, y=1001)", (0, 1000)),
    ("(2.5, 0.5)", (1000, 500)),  # with scale=1, below
])
def test_parse_point_clips_to_the_grid(reply, point):
    scale = 1 if reply == "(2.5, 0.5)" else 1000
    assert parse_point(reply, scale=scale) == point


@pytest.mark.parametrize("reply", [
    "", "I cannot find a submit button.", "(abc, def)", "(NaN, inf)", "(1e5, 3)",
    "(" + "9" * 500 + ", 3)", "click(x=, y=)", "The answer is 500 300 maybe", "{}",
    "x" * 100_000, "(" * 50_000, "[1, " * 20_000, "<point>" + " " * 50_000,
    'x"' + " " * 50_000 + "z", " 1" * 50_000,
])
def test_parse_point_rejects_garbage_quickly(reply):
    started = time.perf_counter()
    assert parse_point(reply) is None
    assert time.perf_counter() - started < 0.5


def test_parse_point_reads_only_the_head_of_a_huge_reply():
    assert parse_point("(1, 2)" + " " * 10_000_000) == (1, 2)
    assert parse_point(" " * MAX_REPLY_CHARS + "(1, 2)") is None
    assert parse_point("[[[[[[[[500, 300]]]]]]]]") == (500, 300)
    assert parse_point(None) is None  # type: ignore[arg-type]


def test_reply_text_shapes_and_hostile_bodies():
    def body(content) -> bytes:
        return json.dumps({"choices": [{"message": {"content": content}}]}).encode()

    assert reply_text(body("(1, 2)")) == "(1, 2)"
    assert reply_text(body([{"type": "text", "text": "(1,"}, {"type": "image_url"},
                            {"type": "text", "text": " 2)"}])) == "(1, 2)"
    assert len(reply_text(body("a" * 100_000))) == MAX_REPLY_CHARS
    for bad in (b"", b"not json", b"\xff\xfe", b"[]", b'"text"', b'{"choices": []}',
                b'{"choices": [{"message": {}}]}', body(None), body(42), body({"a": 1}),
                b"[" * 200_000, b'{"a":' * 100_000, b"1" * 10_000,
                body("(1, 2)" + " " * MAX_BODY_BYTES)):
        assert reply_text(bad) is None, bad[:40]


# ------------------------------------------------------------------ request building


def test_completions_url():
    assert completions_url("http://h:8000") == "http://h:8000/v1/chat/completions"
    assert completions_url("http://h:8000/v1") == "http://h:8000/v1/chat/completions"
    assert completions_url("https://h/prefix/") == "https://h/prefix/v1/chat/completions"
    for bad in ("file:///etc/passwd", "ftp://h", "h:8000", ""):
        with pytest.raises(ValueError, match="http"):
            completions_url(bad)


def test_grounding_prompt_is_instruction_free_and_bounded():
    prompt = grounding_prompt('the "Submit"\nbutton', OBS.elements)
    first, *rest = prompt.splitlines()
    assert json.loads(first.removeprefix("Target: ")) == 'the "Submit"\nbutton'  # one line
    assert '[3] button "Cancel" [700, 500, 900, 560]' in rest
    assert '[4] input_text "" [100, 200, 900, 260]' in rest
    many = [Element(str(i), "div", f"item {i}", Box(0, 0, 1, 1)) for i in range(500)]
    prompt = grounding_prompt("item 7", many)
    assert f'"item {MAX_PROMPT_ELEMENTS - 1}"' in prompt
    assert f'"item {MAX_PROMPT_ELEMENTS}"' not in prompt
    assert "300 more elements not listed" in prompt


def test_grounding_prompt_in_fractions():
    prompt = grounding_prompt("Cancel", [CANCEL], scale=1)
    assert '"Cancel" [0.7, 0.5, 0.9, 0.56]' in prompt
    assert "from 0 to 1 across" in prompt


# ------------------------------------------------------------------ HTTP executor, fake transport

KEY_ENV = "TRACER1_TEST_GROUNDING_KEY"
SECRET = "sk-unit-secret-4242"


def completion(content: str) -> bytes:
    return json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}
                      ).encode()


class FakeTransport:
    """Plays `script` (bytes to return, or an exception to raise) and records each request."""

    def __init__(self, *script):
        self.script = list(script)
        self.calls: list[dict] = []

    def __call__(self, url, body, headers, timeout_s):
        self.calls.append({"url": url, "body": json.loads(body), "headers": dict(headers),
                           "timeout_s": timeout_s})
        item = self.script.pop(0) if self.script else completion("(1, 1)")
        if isinstance(item, BaseException):
            raise item
        return item


def http_error(code: int) -> urllib.error.HTTPError:
    return urllib.error.HTTPError("http://x", code, "status", {}, None)


def make_http(transport, monkeypatch=None, **overrides):
    if monkeypatch is not None:
        monkeypatch.setenv(KEY_ENV, SECRET)
    fields = {"kind": "http", "base_url": "http://grounder:8000/v1", "model": "ui-tars",
              "api_key_env": KEY_ENV, "timeout_s": 5.0, "retries": 2, "backoff_s": 1.0,
              **overrides}
    sleeps: list[float] = []
    executor = HttpGroundingExecutor(GuiExecutorConfig(**fields), transport=transport,
                                     sleep=sleeps.append)
    return executor, sleeps


def test_http_executor_executes_the_models_point(monkeypatch):
    transport = FakeTransport(completion("click(start_box='(800,530)')"))
    executor, sleeps = make_http(transport, monkeypatch)
    assert executor.resolve(Click(10, 10, target="Cancel"), OBS) == Click(800, 530,
                                                                          target="Cancel")
    (call,) = transport.calls
    assert call["url"] == "http://grounder:8000/v1/chat/completions"
    assert call["headers"]["Authorization"] == f"Bearer {SECRET}"
    assert call["timeout_s"] == 5.0
    assert call["body"]["model"] == "ui-tars" and call["body"]["temperature"] == 0.0
    prompt = call["body"]["messages"][0]["content"]
    assert prompt.startswith('Target: "Cancel"') and '"Submit your form below"' in prompt
    assert (executor.failures, executor.requests, sleeps) == (0, 1, [])


def test_http_executor_retries_5xx_and_timeouts_with_backoff(monkeypatch):
    transport = FakeTransport(http_error(503), TimeoutError("timed out"),
                              completion("(5, 6)"))
    executor, sleeps = make_http(transport, monkeypatch)
    assert executor.resolve(Click(10, 10, target="x"), OBS) == Click(5, 6, target="x")
    assert (executor.failures, executor.requests, sleeps) == (0, 3, [1.0, 2.0])


def test_http_executor_falls_back_after_the_retries(monkeypatch, caplog):
    transport = FakeTransport(*[http_error(500)] * 3)
    executor, sleeps = make_http(transport, monkeypatch)
    action = Click(10, 10, target="Cancel")
    with caplog.at_level(logging.DEBUG):
        assert executor.resolve(action, OBS) is action
    assert (executor.failures, executor.requests, len(sleeps)) == (1, 3, 2)
    assert "HTTP Error 500" in caplog.text and SECRET not in caplog.text


@pytest.mark.parametrize("script", [
    (http_error(401),),  # a client error does not improve on retry
    (completion("I cannot see it"),),  # nor does a greedy model's unparseable answer
    (b"<html>proxy error</html>",),
    (grounding_http.ReplyError("too big"),),
])
def test_http_executor_does_not_retry_hopeless_failures(monkeypatch, script):
    executor, sleeps = make_http(FakeTransport(*script), monkeypatch)
    action = Click(10, 10, target="Cancel")
    assert executor.resolve(action, OBS) is action
    assert (executor.failures, executor.requests, sleeps) == (1, 1, [])


def test_http_executor_only_asks_about_targeted_clicks_and_scrolls(monkeypatch):
    transport = FakeTransport(completion("(100, 900)"))
    executor, _ = make_http(transport, monkeypatch)
    for action in (Click(1, 2), Type("a", target="input_text"), Select("b", target="x"),
                   Press("enter"), Done(), Scroll("down")):
        assert executor.resolve(action, OBS) is action
    assert transport.calls == []
    scrolled = executor.resolve(Scroll("down", target="list"), OBS)
    assert scrolled.box == Box(100, 900, 100, 900) and scrolled.box.center == (100, 900)


def test_http_executor_keeps_the_key_out_of_logs_repr_and_pickles(monkeypatch, caplog):
    # A hostile server echoes the Authorization header back in an unparseable reply.
    transport = FakeTransport(completion(f"your header was Bearer {SECRET}"))
    executor, _ = make_http(transport, monkeypatch)
    with caplog.at_level(logging.DEBUG):
        executor.resolve(Click(1, 2, target="x"), OBS)
    assert "your header was" in caplog.text and SECRET not in caplog.text
    assert SECRET not in repr(executor)
    executor = HttpGroundingExecutor(executor.config)  # the fake transport records headers
    assert executor._headers()["Authorization"] == f"Bearer {SECRET}"
    state = pickle.dumps(executor)
    assert SECRET.encode() not in state
    monkeypatch.setenv(KEY_ENV, "sk-rotated")
    assert pickle.loads(state)._headers()["Authorization"] == "Bearer sk-rotated"


def test_http_executor_without_a_key_sends_no_authorization(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    transport = FakeTransport()
    executor, _ = make_http(transport)
    executor.resolve(Click(1, 2, target="x"), OBS)
    assert "Authorization" not in transport.calls[0]["headers"]


def test_http_executor_sends_the_screenshot_inside_the_root(tmp_path, monkeypatch):
    (tmp_path / "shots").mkdir()
    (tmp_path / "shots" / "0.png").write_bytes(b"\x89PNG fake")
    (tmp_path.parent / "secret.png").write_bytes(b"outside")
    transport = FakeTransport(completion("(1, 1)"), completion("(1, 1)"))
    executor, _ = make_http(transport, monkeypatch, screenshot_root=str(tmp_path))
    executor.resolve(Click(1, 2, target="x"), Observation(elements=OBS.elements,
                                                          screenshot="shots/0.png"))
    executor.resolve(Click(1, 2, target="x"), Observation(screenshot="../secret.png"))
    image, text = transport.calls[0]["body"]["messages"][0]["content"]
    url = image["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == b"\x89PNG fake"
    assert text["text"].startswith('Target: "x"')
    assert isinstance(transport.calls[1]["body"]["messages"][0]["content"], str)  # no image


# ------------------------------------------------------------------ config and registry


def test_config_defaults_and_registry():
    assert gui_executor_kinds() == ["passthrough", "grounding", "http"]
    assert isinstance(make_gui_executor(), PassthroughExecutor)
    assert isinstance(make_gui_executor(GuiExecutorConfig(kind="grounding")), GroundingExecutor)
    http = make_gui_executor(GuiExecutorConfig(kind="http", model="m",
                                               base_url="http://h:1"))
    assert isinstance(http, HttpGroundingExecutor) and http.url == "http://h:1/v1/chat/completions"


def test_every_config_field_is_documented():
    tree = ast.parse(inspect.getsource(GuiExecutorConfig))
    body = tree.body[0].body
    documented = {stmt.target.id for stmt, after in zip(body, body[1:], strict=False)
                  if isinstance(stmt, ast.AnnAssign) and isinstance(after, ast.Expr)
                  and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str)}
    assert documented == {f.name for f in dataclasses.fields(GuiExecutorConfig)}


@pytest.mark.parametrize("fields, message", [
    ({"kind": "vision"}, "unknown GUI executor"),
    ({"kind": "http"}, "needs base_url and model"),
    ({"timeout_s": 0}, "> 0"),
    ({"coordinate_scale": -1}, "> 0"),
    ({"retries": -1}, ">= 0"),
    ({"api_key_env": "sk-live-abcdef"}, "name an environment variable"),
])
def test_config_rejects_bad_values(fields, message):
    with pytest.raises(ValueError, match=message) as info:
        GuiExecutorConfig(**fields)
    assert "abcdef" not in str(info.value)  # a pasted key is never echoed


def test_config_loads_strictly_from_params_data():
    config = from_dict(GuiExecutorConfig, {"kind": "http", "model": "ui-tars", "retries": 3,
                                           "timeout_s": 10, "api_key_env": "VLLM_KEY"})
    assert config.timeout_s == 10.0 and config.retries == 3
    with pytest.raises(ConfigError, match="unknown field"):
        from_dict(GuiExecutorConfig, {"kind": "http", "model": "m", "api_key": "sk-1"})
    with pytest.raises(ConfigError, match="unknown GUI executor"):
        from_dict(GuiExecutorConfig, {"kind": "nope"})


# ------------------------------------------------------------------ ExecutingEnv


class FakeGuiEnv:
    """Two screens: SUBMIT/CANCEL at their boxes, then the same buttons swapped."""

    def __init__(self, screenshots: bool = False):
        self.executed: list = []
        self.closed = False
        self.screens = [OBS, Observation(elements=(
            Element("1", "button", "Submit", CANCEL.box),
            Element("3", "button", "Cancel", SUBMIT.box)))]
        if screenshots:
            self.screenshot = lambda: b"png"

    def reset(self, task: Task) -> Observation:
        self.executed.clear()
        return self.screens[0]

    def step(self, action):
        self.executed.append(action)
        point = [action.x, action.y] if isinstance(action, Click) else None
        info = {"verb": action.verb, "point": point, "element": None}
        obs = self.screens[min(len(self.executed), len(self.screens) - 1)]
        return obs, 0.0, isinstance(action, Done), info

    def close(self) -> None:
        self.closed = True


TASK = Task("t", "fake", "family", 0, "press submit twice")


def test_executing_env_resolves_against_the_last_observation():
    env = ExecutingEnv(FakeGuiEnv(), GroundingExecutor())
    assert isinstance(env, Environment)
    assert env.reset(TASK) is OBS
    _, _, _, info = env.step(Click(5, 5, target="Submit"))
    assert info["point"] == [500, 530] and info["planned_point"] == [5, 5]
    assert info["verb"] == "click"
    _, _, _, info = env.step(Click(5, 5, target="Submit"))  # the buttons moved
    assert info["point"] == [800, 530] and info["planned_point"] == [5, 5]
    _, _, done, info = env.step(Done())
    assert done and info["planned_point"] is None
    assert [format_action(a) for a in env.env.executed] == [
        'click(x=500, y=530, target="Submit")', 'click(x=800, y=530, target="Submit")', "done()"]


def test_executing_env_with_passthrough_executes_the_planned_point():
    env = ExecutingEnv(FakeGuiEnv(), make_gui_executor())
    env.reset(TASK)
    _, _, _, info = env.step(Click(5, 5, target="Submit"))
    assert info["point"] == info["planned_point"] == [5, 5]


def test_executing_env_passes_the_rest_through():
    inner = FakeGuiEnv(screenshots=True)
    env = ExecutingEnv(inner, PassthroughExecutor())
    assert env.screenshot() == b"png" and env.screens is inner.screens
    env.close()
    assert inner.closed
    plain = ExecutingEnv(FakeGuiEnv(), PassthroughExecutor())
    # How `build_dataset` detects a rendering environment: absent stays absent.
    assert not callable(getattr(plain, "screenshot", None))
    with pytest.raises(AttributeError):
        plain.no_such_attribute  # noqa: B018


def test_executing_env_before_reset_executes_as_planned():
    env = ExecutingEnv(FakeGuiEnv(), GroundingExecutor())
    _, _, _, info = env.step(Click(5, 5, target="Submit"))  # nothing seen yet: no grounding
    assert info["point"] == [5, 5]

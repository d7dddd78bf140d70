"""Headless Chromium for the GUI suites: find it, start it in a scratch home, stop it cleanly.

Debian's `chromium` and `chromium-driver` packages are the supported browser
(`scripts/bootstrap.sh` installs them when it runs as root). `MINIWOB_CHROME_BINARY`
and `MINIWOB_CHROMEDRIVER` (the variables MiniWoB++ itself reads) point elsewhere;
they must be set together.

Each `Browser` owns a scratch directory used as HOME, TMPDIR and Chromium's profile,
and starts ChromeDriver in a process group of its own, so `close()` can end the driver
and every browser process it spawned (and sweeps up any that left the group, found by
the scratch directory on their command line) — a crashed or hung browser leaves
nothing behind.

Every WebDriver command is bounded by `command_timeout` seconds, client side: a page
stuck in `while (true) {}` never answers, and ChromeDriver's own script timeout cannot
interrupt a busy renderer. Selenium's HTTP client would retry a timed-out GET three
times (four timeouts in all), so the connection is built here with read retries off.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROME_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
DRIVER_CANDIDATES = ("chromedriver",)
# Headless, and nothing that reaches for the network or a GPU: this machine has neither.
HEADLESS_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--disable-extensions", "--mute-audio",
    # Screenshots with the same bytes for the same page state (dvc.lock stays put): no
    # images decoded behind the frame, no partial or LCD raster, one colour profile.
    "--disable-checker-imaging", "--disable-partial-raster", "--disable-lcd-text",
    "--force-color-profile=srgb", "--disable-threaded-animation",
    "--run-all-compositor-stages-before-draw", "--font-render-hinting=none",
)
INSTALL_HINT = (
    "install Debian's chromium and chromium-driver (as root: apt-get install -y chromium "
    "chromium-driver; `make` does this itself when run as root), or set "
    "MINIWOB_CHROME_BINARY and MINIWOB_CHROMEDRIVER to a Chromium and its matching ChromeDriver"
)
COMMAND_TIMEOUT_S = 30.0  # one WebDriver command; a browser slower than this is hung
ALIVE_TIMEOUT_S = 10.0  # `return 1` takes milliseconds; an idle browser this slow is hung
QUIT_TIMEOUT_S = 5.0  # a graceful quit gets this long before the process group is killed
START_TIMEOUT_S = 60.0  # starting Chromium takes 1-3 s, much more on a busy machine
KILL_WAIT_S = 5.0  # how long close() waits for the killed processes to be gone


class BrowserMissing(RuntimeError):
    """No usable Chromium/ChromeDriver pair on this machine."""


class BrowserFailure(RuntimeError):
    """A browser that would not start, or a page that never became ready in it."""


@dataclass(frozen=True)
class BrowserPaths:
    chrome: str
    driver: str


def find_browser() -> BrowserPaths:
    """The Chromium and ChromeDriver to use, or `BrowserMissing` saying what to install."""
    chrome, driver = os.environ.get("MINIWOB_CHROME_BINARY"), os.environ.get("MINIWOB_CHROMEDRIVER")
    if bool(chrome) != bool(driver):
        raise BrowserMissing("MINIWOB_CHROME_BINARY and MINIWOB_CHROMEDRIVER must be set together")
    if not chrome:
        chrome = next(filter(None, map(shutil.which, CHROME_CANDIDATES)), None)
        driver = next(filter(None, map(shutil.which, DRIVER_CANDIDATES)), None)
    missing = [name for name, path in (("Chromium", chrome), ("ChromeDriver", driver))
               if not path or not os.access(path, os.X_OK)]
    if missing:
        raise BrowserMissing(f"{' and '.join(missing)} not found: {INSTALL_HINT}")
    return BrowserPaths(chrome=str(chrome), driver=str(driver))


class Browser:
    """One headless Chromium driven through Selenium; `driver` is valid between start and close.

    `window` is the viewport size in CSS pixels; `command_timeout` bounds every
    WebDriver command (seconds). Everything the browser writes goes under a private
    scratch directory that `close()` removes.
    """

    def __init__(self, window: tuple[int, int] = (500, 320), paths: BrowserPaths | None = None,
                 command_timeout: float = COMMAND_TIMEOUT_S):
        self.window = window
        self.paths = paths
        self.command_timeout = command_timeout
        self.driver: Any = None
        self._scratch: Path | None = None
        self._service: Any = None

    def start(self) -> Any:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.chromium.remote_connection import ChromiumRemoteConnection
        from selenium.webdriver.remote.client_config import ClientConfig
        from urllib3.util import Retry

        if self.driver is not None:
            raise RuntimeError("browser already started")
        paths = self.paths or find_browser()
        self._scratch = Path(tempfile.mkdtemp(prefix="tracer1-chromium-"))
        env = {**os.environ, "HOME": str(self._scratch), "TMPDIR": str(self._scratch)}
        # The CLI preloads tcmalloc for the training stages (`tracer1.cli.entry`); Chromium
        # brings its own allocator and must not inherit it.
        env.pop("LD_PRELOAD", None)
        options = webdriver.ChromeOptions()
        options.binary_location = paths.chrome
        for flag in HEADLESS_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self._scratch / 'profile'}")
        options.add_argument(f"--window-size={self.window[0]},{self.window[1]}")
        # A process group of its own: close() can signal the driver and every Chromium
        # process under it, even when the driver no longer answers.
        self._service = Service(executable_path=paths.driver, env=env,
                                popen_kw={"start_new_session": True})
        try:
            self._service.start()
            # webdriver.Chrome would build its own connection (120 s timeout, GETs retried
            # on a read timeout) and stop the service at quit (up to 40 s waits of its own):
            # a Remote session on a connection built here keeps both bounded.
            url = self._service.service_url
            config = ClientConfig(
                url, timeout=max(START_TIMEOUT_S, self.command_timeout),
                init_args_for_pool_manager={"init_args_for_pool_manager": {
                    "retries": Retry(total=None, connect=0, read=0, status=0, other=0,
                                     redirect=3)}})
            executor = ChromiumRemoteConnection(url, vendor_prefix="goog", browser_name="chrome",
                                                ignore_proxy=True, client_config=config)
            self.driver = webdriver.Remote(command_executor=executor, options=options)
            self._fit_viewport()
            config.timeout = self.command_timeout  # the session is up: commands are quick
            self.driver.set_script_timeout(self.command_timeout)
            self.driver.set_page_load_timeout(self.command_timeout)
        except BaseException:
            self.close()
            raise
        return self.driver

    def _fit_viewport(self) -> None:
        # `--window-size` sizes the outer window, and headless Chromium (150) still keeps
        # ~140 px of it for browser UI: a 500x320 window left a 177 px tall viewport, which
        # cut off the bottom of MiniWoB's 210 px task screen. Grow it by the difference.
        inner = self.driver.execute_script("return [window.innerWidth, window.innerHeight];")
        width, height = self.window
        if tuple(inner) != (width, height):
            self.driver.set_window_size(2 * width - inner[0], 2 * height - inner[1])

    @property
    def pid(self) -> int | None:
        process = getattr(self._service, "process", None)
        return None if process is None else process.pid

    def alive(self) -> bool:
        """Whether the browser still answers a trivial command (within `ALIVE_TIMEOUT_S`)."""
        if self.driver is None:
            return False
        config = self.driver.command_executor.client_config
        config.timeout = min(ALIVE_TIMEOUT_S, self.command_timeout)
        try:
            return self.driver.execute_script("return 1;") == 1
        except Exception:  # any WebDriver or connection error means it is gone
            return False
        finally:
            config.timeout = self.command_timeout

    def close(self, graceful: bool = True) -> None:
        """End the browser: quit (when `graceful`), then kill its whole process group,
        and any process still using its scratch directory: Chromium's crash handler
        starts a session of its own, outside the group (`--disable-crashpad-for-testing`
        would keep it from starting, but then Chromium 150 never loads a page).

        A browser that crashed or hung is closed with `graceful=False`: asking it to quit
        would only wait out a timeout. The kill is what guarantees nothing is left behind.
        """
        driver, self.driver = self.driver, None
        if driver is not None:
            with contextlib.suppress(Exception):
                if graceful:
                    driver.command_executor.client_config.timeout = min(
                        QUIT_TIMEOUT_S, self.command_timeout)
                    driver.quit()
                else:
                    driver.command_executor.close()
        pid = self.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                self._service.process.wait(timeout=KILL_WAIT_S)
            # SIGKILL lands asynchronously: return once the group has really gone.
            deadline = time.monotonic() + KILL_WAIT_S
            while browser_processes(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
        self._service = None
        if self._scratch is not None:
            deadline = time.monotonic() + KILL_WAIT_S
            while (stragglers := processes_using(self._scratch)) and time.monotonic() < deadline:
                for straggler in stragglers:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(straggler, signal.SIGKILL)
                time.sleep(0.02)
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def __enter__(self) -> Browser:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def browser_processes(pgid: int) -> list[int]:
    """Live PIDs in process group `pgid` — a browser's ChromeDriver pid leads one (`Browser.pid`).

    Zombies are left out: they have exited, and init reaps them once their parent (a
    killed ChromeDriver or Chromium) is gone. Tests check that `close()` and pool
    shutdowns leave none behind.
    """
    out = subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True, text=True,
                         check=False).stdout
    return [pid for pid in map(int, out.split()) if _state(pid) not in ("Z", "X", None)]


def processes_using(path: Path) -> list[int]:
    """Live PIDs whose command line names `path` (a browser's scratch directory)."""
    needle, found = str(path).encode(), []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if needle in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


def _state(pid: int) -> str | None:
    """The process's state letter from /proc (None once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2]  # the command name in parentheses may contain spaces


def browser_errors() -> tuple[type[BaseException], ...]:
    """What a WebDriver call raises when the browser crashed, hung or dropped the connection.

    Selenium's own errors, urllib3's (a command past `command_timeout`, a refused
    connection to a dead ChromeDriver), the OS's and `BrowserFailure`. The environment
    restarts the browser on these, and only these: anything else is a bug to surface.
    """
    from selenium.common.exceptions import WebDriverException
    from urllib3.exceptions import HTTPError

    return (WebDriverException, HTTPError, OSError, BrowserFailure)


__all__ = [
    "Browser",
    "BrowserFailure",
    "BrowserMissing",
    "BrowserPaths",
    "browser_errors",
    "browser_processes",
    "find_browser",
    "processes_using",
]

"""Headless Chromium for the GUI suites: find it, start it in a scratch home, stop it cleanly.

Debian's `chromium` and `chromium-driver` packages are the supported browser
(`scripts/bootstrap.sh` installs them when it runs as root). `MINIWOB_CHROME_BINARY`
and `MINIWOB_CHROMEDRIVER` (the variables MiniWoB++ itself reads) point elsewhere;
they must be set together.

Each `Browser` owns a scratch directory used as HOME, TMPDIR and Chromium's profile,
and starts ChromeDriver in a process group of its own, so `close()` can end the driver
and every browser process it spawned — a crashed or hung browser leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
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
)
INSTALL_HINT = (
    "install Debian's chromium and chromium-driver (as root: apt-get install -y chromium "
    "chromium-driver; `make` does this itself when run as root), or set "
    "MINIWOB_CHROME_BINARY and MINIWOB_CHROMEDRIVER to a Chromium and its matching ChromeDriver"
)
COMMAND_TIMEOUT_S = 30  # one WebDriver command; a browser slower than this is hung


class BrowserMissing(RuntimeError):
    """No usable Chromium/ChromeDriver pair on this machine."""


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

    `window` is the outer window size in CSS pixels. Everything the browser writes
    goes under a private scratch directory that `close()` removes.
    """

    def __init__(self, window: tuple[int, int] = (500, 320), paths: BrowserPaths | None = None):
        self.window = window
        self.paths = paths
        self.driver: Any = None
        self._scratch: Path | None = None
        self._service: Any = None

    def start(self) -> Any:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        if self.driver is not None:
            raise RuntimeError("browser already started")
        paths = self.paths or find_browser()
        self._scratch = Path(tempfile.mkdtemp(prefix="tracer1-chromium-"))
        env = {**os.environ, "HOME": str(self._scratch), "TMPDIR": str(self._scratch)}
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
            self.driver = webdriver.Chrome(service=self._service, options=options)
            self.driver.command_executor.client_config.timeout = COMMAND_TIMEOUT_S
            self.driver.set_script_timeout(COMMAND_TIMEOUT_S)
            self.driver.set_page_load_timeout(COMMAND_TIMEOUT_S)
        except BaseException:
            self.close()
            raise
        return self.driver

    @property
    def pid(self) -> int | None:
        process = getattr(self._service, "process", None)
        return None if process is None else process.pid

    def alive(self) -> bool:
        """Whether the browser still answers a trivial command."""
        if self.driver is None:
            return False
        try:
            return self.driver.execute_script("return 1;") == 1
        except Exception:  # any WebDriver or connection error means it is gone
            return False

    def close(self) -> None:
        """Quit the browser; then end its process group in case quitting did not."""
        driver, self.driver = self.driver, None
        if driver is not None:
            with contextlib.suppress(Exception):
                driver.quit()
        pid = self.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                self._service.process.wait(timeout=5)
        self._service = None
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def __enter__(self) -> Browser:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def browser_processes(root_pid: int) -> list[int]:
    """PIDs in the process group `root_pid` leads (tests check that close() leaves none)."""
    out = subprocess.run(["ps", "-o", "pid=", "-g", str(root_pid)], capture_output=True,
                         text=True, check=False).stdout
    return [int(p) for p in out.split()]


__all__ = ["Browser", "BrowserMissing", "BrowserPaths", "find_browser", "browser_processes"]

"""How calls run: the GIL released while waiting, many threads on one client, fork, Ctrl-C,
the environment of a fresh process. (The documentation's examples run in test_examples.py,
against the project's own server.)"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from conftest import API_KEY, Server
from grantex import Grantex


def test_other_threads_run_while_a_call_waits(client: Grantex, server: Server) -> None:
    server.reply(200, {"anomalies": [], "total": 0}, delay=0.5)
    counts = {"n": 0}
    stop = threading.Event()

    def count() -> None:
        while not stop.is_set():
            counts["n"] += 1

    counter = threading.Thread(target=count)
    counter.start()
    try:
        time.sleep(0.05)
        before = counts["n"]
        start = time.monotonic()
        client.anomalies.list()
        elapsed = time.monotonic() - start
        during = counts["n"] - before
    finally:
        stop.set()
        counter.join()
    assert elapsed >= 0.45
    # With the GIL held for the 0.5 s, the counter could only run in the 5 ms switch
    # intervals before the call; released, it counts freely (millions per second).
    assert during > 100_000, during


def test_one_client_many_threads(client: Grantex, server: Server) -> None:
    threads_n, calls_n = 8, 4
    server.reply(200, {"anomalies": [], "total": 0}, delay=0.2, times=threads_n * calls_n)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(calls_n):
                assert client.anomalies.list().total == 0
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(threads_n)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    assert errors == []
    assert len(server.requests) == threads_n * calls_n
    # Sequentially this would take 32 * 0.2 = 6.4 s; concurrently about 4 * 0.2.
    assert elapsed < 3.0, elapsed


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_client_works_after_fork(client: Grantex, server: Server) -> None:
    server.wire("list-200", times=3)
    assert client.anomalies.list().total == 4  # the pool and the runtime now exist
    pid = os.fork()
    if pid == 0:  # the child: must not touch pytest, only report through the exit code
        code = 1
        try:
            code = 0 if client.anomalies.list().total == 4 else 2
        except BaseException:  # noqa: BLE001
            code = 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    assert client.anomalies.list().total == 4  # and the parent still works
    assert len(server.requests) == 3


def _run(
    code: str, env_extra: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **env_extra}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_interrupts_a_waiting_call(server: Server) -> None:
    server.reply(200, {"anomalies": [], "total": 0}, delay=10)
    code = """
        import os, signal, sys, threading, time
        from grantex import Grantex
        client = Grantex(api_key="k", base_url=os.environ["URL"], max_retries=0)
        threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        start = time.monotonic()
        try:
            client.anomalies.list()
        except KeyboardInterrupt:
            print("interrupted after", time.monotonic() - start)
            sys.exit(0)
        print("not interrupted")
        sys.exit(1)
    """
    done = _run(code, {"URL": server.url})
    assert done.returncode == 0, done.stdout + done.stderr
    elapsed = float(done.stdout.split()[-1])
    assert 0.25 <= elapsed < 1.3, elapsed


def test_api_key_from_the_environment_in_a_fresh_process(server: Server) -> None:
    server.wire("list-200")
    done = _run(
        "from grantex import Grantex; print(Grantex().anomalies.list().total)",
        {"GRANTEX_API_KEY": API_KEY, "GRANTEX_BASE_URL": server.url},
    )
    assert done.stdout.strip() == "4", done.stderr
    assert server.last.headers["authorization"] == f"Bearer {API_KEY}"

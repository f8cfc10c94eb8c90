"""A login storm is bounded: at most a few argon2 computations at once per process, excess logins wait or
get 503 with Retry-After, the same for known and unknown users."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from app.auth.models import Role
from app.runtime import (
    PASSWORD_NICENESS,
    GatedPasswords,
    PasswordGate,
    PasswordWorkBusyError,
    Runtime,
    password_slots,
)
from crypto.passwords import FAST_TEST_PARAMS, MAX_PASSWORD_CHARS
from tests.auth_support import LoggedIn


class SlowWork:
    """Fake password work that records how many run at once and blocks until released."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.started = 0
        self.release = threading.Event()

    def __call__(self, gate: PasswordGate) -> None:
        with gate.slot():
            with self.lock:
                self.running += 1
                self.started += 1
                self.most = max(self.most, self.running)
            self.release.wait()
            with self.lock:
                self.running -= 1


def _wait_until(condition: Callable[[], bool]) -> None:
    while not condition():
        threading.Event().wait(0.01)


@contextmanager
def _held(gate: PasswordGate, work: SlowWork, count: int) -> Iterator[list[threading.Thread]]:
    threads = [threading.Thread(target=work, args=(gate,)) for _ in range(count)]
    for thread in threads:
        thread.start()
    try:
        yield threads
    finally:
        work.release.set()
        for thread in threads:
            thread.join()


def test_at_most_the_slots_hash_at_once_and_the_rest_wait_their_turn() -> None:
    gate = PasswordGate(2, max_waiting=10, wait_seconds=60)
    work = SlowWork()
    with _held(gate, work, 6):
        _wait_until(lambda: work.started == 2 and gate._pending == 6)
        assert work.running == 2
    assert work.most == 2
    assert work.started == 6


def test_a_login_beyond_the_queue_is_refused_at_once() -> None:
    gate = PasswordGate(1, max_waiting=1, wait_seconds=60)
    work = SlowWork()
    with _held(gate, work, 2):
        _wait_until(lambda: work.started == 1 and gate._pending == 2)
        with pytest.raises(PasswordWorkBusyError):
            work(gate)
    assert work.started == 2


def test_a_verify_that_falls_back_to_the_dummy_does_not_wait_for_itself() -> None:
    passwords = GatedPasswords(FAST_TEST_PARAMS, PasswordGate(1, max_waiting=0, wait_seconds=60))
    stored = passwords.hash("correct horse battery staple")
    assert not passwords.verify(stored, "x" * (MAX_PASSWORD_CHARS + 1))
    assert passwords.verify(stored, "correct horse battery staple")


def test_slots_leave_a_core_for_other_requests() -> None:
    assert password_slots(4, cpus=2) == 1
    assert password_slots(4, cpus=1) == 1
    assert password_slots(4, cpus=9) == 2
    assert password_slots(1, cpus=4) == 3


@pytest.mark.parametrize("known", [True, False])
def test_a_full_gate_answers_503_with_retry_after_for_known_and_unknown_users(
    client: TestClient, runtime: Runtime, login_as: Callable[..., LoggedIn], known: bool
) -> None:
    user = login_as(Role.ADMIN)
    gate = PasswordGate(1, max_waiting=0, wait_seconds=60)
    runtime.passwords = GatedPasswords(FAST_TEST_PARAMS, gate)
    work = SlowWork()
    body = {"username": user.user.username if known else "nobody-here", "password": user.password, "code": ""}
    with _held(gate, work, 1):
        _wait_until(lambda: work.started == 1)
        response = client.post("/api/v1/auth/token", json=body)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert response.json()["error"]["code"] == "unavailable"


def test_password_work_runs_below_the_priority_of_requests() -> None:
    gate = PasswordGate(1, max_waiting=1, wait_seconds=1.0)
    hasher = GatedPasswords(FAST_TEST_PARAMS, gate)

    def niceness() -> tuple[str, int]:
        thread = threading.current_thread()
        return thread.name, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    name, nice = hasher._on_worker(niceness)
    here = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert name.startswith("harbour-argon2")
    assert nice == here + PASSWORD_NICENESS
    # Re-entry from the worker (verify -> dummy verify) runs in place instead of waiting for its own slot.
    assert hasher.verify(hasher.hash("a long enough passphrase"), "x" * (MAX_PASSWORD_CHARS + 1)) is False
    assert hasher.verify(hasher.hash("a long enough passphrase"), "a long enough passphrase") is True

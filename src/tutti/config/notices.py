"""Config warnings (unknown keys) reach the user through whichever front end is running.

Core code never prints: `load_config` publishes its warnings here, and the CLI subscribes a
printer at start-up (the server could log them). Deliberately import-free so `tt --version`
stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

_listeners: list[Callable[[str], None]] = []


def subscribe(listener: Callable[[str], None]) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def unsubscribe(listener: Callable[[str], None]) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def publish(messages: Iterable[str]) -> None:
    for message in messages:
        for listener in _listeners:
            listener(message)

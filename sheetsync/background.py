"""A function run in a thread while this one gets on with something else.

Only worth it where one side spends its time outside the GIL: python-calamine
loading a sheet and zlib inflating its XML both release it, so a second core
can compile templates or scan for error cells meanwhile.  This module never
decides what runs in a thread; its callers do (run.py, sources/excel.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class Background:
    """``fn(*args)`` in a daemon thread; ``result()`` returns its value or raises its exception."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn, args), name="sheetsync-background", daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            self._value = fn(*args)
        except BaseException as exc:  # handed to whoever asks for the result
            self._error = exc

    def wait(self) -> None:
        self._thread.join()

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value

"""What the views work with: the settings, the graph store, the metadata DB and the assistant.

One :class:`Services` object per app (``app.extensions["shopkg"]``), handed what the caller
already has (tests pass a small graph and an assistant double) and opening the rest lazily
from the settings on first use, so creating the app does no I/O.
"""

from __future__ import annotations

import importlib
import threading
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

from shopkg.db import Database
from shopkg.errors import ShopKGError
from shopkg.settings import Settings
from webapp.errors import AssistantUnavailable

if TYPE_CHECKING:
    from assistant.api import AssistantAPI
    from kg import GraphStore
    from shopkg.db.overrides import Override

EXTENSION = "shopkg"


class Services:
    """The app's collaborators; anything not given is built from ``settings`` when first used."""

    def __init__(
        self,
        settings: Settings,
        *,
        assistant: AssistantAPI | None = None,
        store: GraphStore | None = None,
        database: Database | None = None,
    ) -> None:
        self.settings = settings
        self._assistant = assistant
        self._store = store
        self._database = database
        self._owned: list[Any] = []  # what we opened, so close() closes only that
        self._lock = threading.Lock()

    def init_app(self, app: Flask) -> None:
        app.extensions[EXTENSION] = self

    @property
    def store(self) -> GraphStore:
        """The graph store, opened on first use."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    from kg import open_store

                    store = open_store(self.settings).open()
                    self._owned.append(store)
                    self._store = store
        return self._store

    @property
    def database(self) -> Database:
        if self._database is None:
            with self._lock:
                if self._database is None:
                    database = Database(self.settings.db).connect()
                    self._owned.append(database)
                    self._database = database
        return self._database

    @property
    def assistant(self) -> AssistantAPI:
        """The assistant, built by ``assistant.build_assistant(settings)`` on first use.

        Raises :class:`AssistantUnavailable` (answered as 503) when that function does not
        exist yet or cannot build the assistant, and tries again on the next request.
        """
        if self._assistant is None:
            with self._lock:
                if self._assistant is None:
                    self._assistant = self._build_assistant()
        return self._assistant

    def _build_assistant(self) -> AssistantAPI:
        try:
            module = importlib.import_module("assistant")
        except ImportError as e:
            raise AssistantUnavailable(f"the assistant package cannot be imported: {e}") from e
        build = getattr(module, "build_assistant", None)
        if build is None:
            raise AssistantUnavailable(
                "the assistant is not available: assistant.build_assistant does not exist yet "
                "in this installation; search and question answering need it"
            )
        try:
            built: AssistantAPI = build(self.settings)
        except ShopKGError as e:
            raise AssistantUnavailable(f"the assistant cannot start: {e}") from e
        return built

    def override_recorded(self, override: Override) -> None:
        """Tell the assistant, when it is loaded and applies overrides, about one an admin
        just made; an assistant built later reads them all from the database."""
        from assistant.api import OverrideSink

        assistant = self._assistant
        if assistant is not None and isinstance(assistant, OverrideSink):
            assistant.apply_override(override)

    @property
    def is_demo(self) -> bool:
        """Whether the catalog is the generated demo one (the UI then says so)."""
        flag = current_app.config.get("SHOPKG_DEMO_CATALOG")
        if flag is not None:
            return bool(flag)
        try:
            return bool(getattr(self.assistant, "is_demo", False))
        except AssistantUnavailable:
            return False

    def close(self) -> None:
        """Close what this object opened itself (not what it was handed)."""
        with self._lock:
            for owned in reversed(self._owned):
                owned.close()
            if self._store in self._owned:
                self._store = None
            if self._database in self._owned:
                self._database = None
            self._owned.clear()


def services() -> Services:
    """The current app's services."""
    found: Services = current_app.extensions[EXTENSION]
    return found

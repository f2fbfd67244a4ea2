"""What the views work with: the settings, the graph store, the metadata DB and the assistant.

One :class:`Services` object per app (``app.extensions["shopkg"]``), handed what the caller
already has (tests pass a small graph and an assistant double) and opening the rest lazily
from the settings on first use, so creating the app does no I/O.

Serving and building share the data directory (see :mod:`foundation.artifacts`): the assistant
answers from the last *published* build (a read-only copy of its graph, its indexes and
records), never from the graph a build writes. At most every ``reload_every`` seconds a
request looks at which build is published; when a newer one is, a background thread builds
an assistant over it and swaps it in, and the old one is closed :data:`RETIRE_AFTER_S`
seconds later (requests already using it finish first). The admin browser's graph store is
the build's graph itself (edits must last), opened for the requests that use it and closed
after them, so it holds Kùzu's write lock only while an admin request runs. The assistant's
conversations live in the metadata DB (``SharedDialogs``), so every server process, and the
assistant over the next build, continues every one.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, g, has_app_context

from foundation.db import Database
from foundation.errors import ShopKGError
from foundation.settings import Settings
from webapp.errors import AssistantUnavailable

if TYPE_CHECKING:
    from assistant.api import AssistantAPI
    from assistant.live import LiveRooms
    from encoders.base import TextEncoder
    from foundation.db.overrides import Override
    from kg import GraphStore

EXTENSION = "shopkg"
RELOAD_EVERY_S = 5.0
RETIRE_AFTER_S = 60.0
OVERRIDES_EVERY_S = 1.0

log = logging.getLogger(__name__)


class Services:
    """The app's collaborators; anything not given is built from ``settings`` when first used."""

    def __init__(
        self,
        settings: Settings,
        *,
        assistant: AssistantAPI | None = None,
        store: GraphStore | None = None,
        database: Database | None = None,
        question_encoder: TextEncoder | None = None,
        reload_every: float = RELOAD_EVERY_S,
    ) -> None:
        self.settings = settings
        self._assistant = assistant
        self._given_assistant = assistant is not None
        self._store = store
        self._database = database
        self._owned: list[Any] = []  # what we opened, so close() closes only that
        self._lock = threading.RLock()  # building the assistant under it opens the database
        self.reload_every = reload_every
        self.serving: str | None = None  # the published build the assistant answers from
        self._checked_at = time.monotonic()
        self._swapping: threading.Thread | None = None
        self._failed: str | None = None  # a published build that could not be loaded
        self._graph: GraphStore | None = None  # the build's graph, while requests use it
        self._graph_users = 0
        self._warm = False  # set once warm_up() answered its requests
        self._overrides_at = time.monotonic()
        self._question_encoder = question_encoder
        self._live: LiveRooms | None = None

    def init_app(self, app: Flask) -> None:
        app.extensions[EXTENSION] = self
        app.teardown_appcontext(self._release_graph)

    @property
    def store(self) -> GraphStore:
        """The graph store: the one handed in, else the build's graph, opened for the
        current request (shared by concurrent ones) and closed when none uses it."""
        if self._store is not None:
            return self._store
        if not has_app_context():
            raise RuntimeError("Services.store outside a request: pass a store or use one")
        leased: GraphStore | None = g.get("shopkg_graph")
        if leased is None:
            with self._lock:
                if self._graph is None:
                    from kg import open_store

                    self._graph = open_store(self.settings).open()
                self._graph_users += 1
                leased = self._graph
            g.shopkg_graph = leased
        return leased

    def _release_graph(self, _error: BaseException | None = None) -> None:
        if g.pop("shopkg_graph", None) is None:
            return
        with self._lock:
            self._graph_users -= 1
            if self._graph_users == 0 and self._graph is not None:
                graph, self._graph = self._graph, None
                graph.close()

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
        """The assistant, built by ``assistant.build_assistant(settings[, published])`` on
        first use, then swapped for one over each newer published build.

        Raises :class:`AssistantUnavailable` (answered as 503) when that function does not
        exist yet or cannot build the assistant, and tries again on the next request.
        """
        if self._given_assistant:
            assert self._assistant is not None
            return self._assistant
        if self._assistant is None:
            with self._lock:
                if self._assistant is None:
                    self._checked_at = time.monotonic()
                    name = self._published_name()
                    self._assistant = self._build_assistant(name)
                    self.serving = name
                    self._warm = True  # a request built it: it answers from now on
        else:
            self._maybe_swap()
            self._maybe_sync_overrides()
        return self._assistant

    def _published_name(self) -> str | None:
        from foundation.artifacts import current_name

        return current_name(self.settings)

    def _maybe_swap(self) -> None:
        """Start loading a newer published build, if there is one (checked every few s)."""
        now = time.monotonic()
        if now - self._checked_at < self.reload_every:
            return
        with self._lock:
            if now - self._checked_at < self.reload_every or self._swapping is not None:
                return
            self._checked_at = now
            name = self._published_name()
            if name is None or name in (self.serving, self._failed):
                return
            self._swapping = threading.Thread(
                target=self._swap, args=(name,), name=f"shopkg-load-{name}", daemon=True
            )
            self._swapping.start()

    def _swap(self, name: str) -> None:
        try:
            fresh = self._build_assistant(name)
        except Exception as e:  # keep serving the old build; do not retry this one
            log.error("published build %s cannot be served, keeping %s: %s", name, self.serving, e)
            with self._lock:
                self._failed, self._swapping = name, None
            return
        with self._lock:
            old, self._assistant = self._assistant, fresh
            self.serving, self._swapping = name, None
        log.info("now answering from published build %s", name)
        if old is not None:
            retire = threading.Timer(RETIRE_AFTER_S, _close_assistant, args=(old,))
            retire.daemon = True
            retire.start()

    def wait_for_swap(self, timeout: float | None = None) -> None:
        """Wait for a swap in progress (tests, and a clean shutdown)."""
        swapping = self._swapping
        if swapping is not None:
            swapping.join(timeout)

    def _build_assistant(self, published: str | None) -> AssistantAPI:
        import assistant  # the attribute is looked up per call, so tests can swap it

        build = assistant.build_assistant
        try:
            if published is None:  # a data dir built before builds were published
                built: AssistantAPI = build(self.settings)
            else:
                from foundation.artifacts import current

                found = current(self.settings)
                built = build(self.settings, found) if found is not None else build(self.settings)
        except ShopKGError as e:
            raise AssistantUnavailable(f"the assistant cannot start: {e}") from e
        from assistant.api import SharedDialogs

        if isinstance(built, SharedDialogs):  # any server process continues any conversation
            built.share_dialogs(self.database)
        return built

    def _maybe_sync_overrides(self) -> None:
        """Apply overrides other server processes recorded (checked every second): with
        ``--workers N`` an admin's edit reaches one worker through its request and the
        others through the metadata DB."""
        from assistant.api import OverrideSink

        now = time.monotonic()
        assistant = self._assistant
        if now - self._overrides_at < OVERRIDES_EVERY_S or not isinstance(assistant, OverrideSink):
            return
        self._overrides_at = now
        from foundation.db.overrides import active_overrides

        try:
            with self.database.session() as session:
                found = active_overrides(session)
        except ShopKGError as e:
            log.warning("cannot read the admin overrides: %s", e)
            return
        for override in found:
            assistant.apply_override(override)  # it skips those it has

    def override_recorded(self, override: Override) -> None:
        """Tell the assistant, when it is loaded and applies overrides, about one an admin
        just made; an assistant built later reads them all from the database."""
        from assistant.api import OverrideSink

        assistant = self._assistant
        if assistant is not None and isinstance(assistant, OverrideSink):
            assistant.apply_override(override)

    @property
    def live(self) -> LiveRooms:
        """Viewers' questions in live rooms (grouped with MiniLM: the assistant's own encoder
        when it has one, else the configured one, loaded on first use)."""
        if self._live is None:
            from assistant.live import LiveRooms, QuestionGrouper, question_grouper

            assistant = self.assistant
            with self._lock:
                if self._live is None:
                    grouper = (
                        QuestionGrouper(self._question_encoder)
                        if self._question_encoder is not None
                        else question_grouper(self.settings, assistant)
                    )
                    self._live = LiveRooms(self.database, grouper)
        return self._live

    def facts_version(self) -> str:
        """What the assistant's facts are now: the build it serves and the admin edits it
        applied (remembered live answers are keyed by it)."""
        applied = getattr(self._assistant, "applied_overrides", ())
        return f"{self.serving or 'given'}:{len(applied)}"

    @property
    def ready(self) -> bool:
        """Whether the assistant is loaded (and warmed up, when :meth:`warm_up` ran):
        ``/healthz`` answers 200 only then, so a load balancer sends no shopper to a server
        still reading its indexes."""
        return self._assistant is not None and (self._given_assistant or self._warm)

    def warm_up(self) -> None:
        """Load the assistant and answer one search, card and question with it (``shopkg
        serve`` runs this in the background at start). Errors are logged: requests meet
        them again, as 503s, and retry."""
        try:
            assistant = self.assistant
            warm = getattr(assistant, "warm_up", None)
            if warm is not None:
                warm()
        except Exception as e:
            log.error("warming up the assistant failed: %s", e)
            return
        self._warm = True
        log.info("the assistant is ready")

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

    @property
    def photo_search(self) -> bool:
        """Whether the assistant can search by photo (the page hides the button otherwise)."""
        try:
            return bool(self.assistant.photo_search)
        except AssistantUnavailable:
            return False

    def close(self) -> None:
        """Close what this object opened itself (not what it was handed)."""
        self.wait_for_swap()
        with self._lock:
            for owned in reversed(self._owned):
                owned.close()
            if self._database in self._owned:
                self._database = None
            self._owned.clear()
            if self._graph is not None:
                self._graph.close()
                self._graph, self._graph_users = None, 0
            if not self._given_assistant and self._assistant is not None:
                _close_assistant(self._assistant)
                self._assistant = None


def _close_assistant(assistant: Any) -> None:
    from assistant.loader import close_assistant

    try:
        close_assistant(assistant)
    except ShopKGError as e:
        log.warning("closing a retired assistant: %s", e)


def services() -> Services:
    """The current app's services."""
    found: Services = current_app.extensions[EXTENSION]
    return found

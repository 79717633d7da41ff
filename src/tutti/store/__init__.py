"""The workspace store: one SQLite database per workspace, the event spine of Tutti."""

from tutti.store.db import Event, Store, open_store

__all__ = ["Event", "Store", "open_store"]

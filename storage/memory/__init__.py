"""In-memory storage with the SQLite backend's behaviour: unit tests and memory:// URLs."""

from storage.memory.backend import MemoryBackend

__all__ = ["MemoryBackend"]

"""The foundation every other ShopKG package stands on, and which imports none of them.

Typed settings (:mod:`foundation.settings`), the exception hierarchy
(:mod:`foundation.errors`), file helpers (:mod:`foundation.files`), the metadata database
(:mod:`foundation.db`) and the layout of what a build leaves on disk
(:mod:`foundation.artifacts`). Nothing here imports torch, Flask or a graph store.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("shopkg")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]

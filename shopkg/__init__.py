"""ShopKG: a knowledge-graph backend for e-commerce.

This package holds the foundation every other part plugs into: typed settings
(:mod:`shopkg.settings`), the exception hierarchy (:mod:`shopkg.errors`), the metadata
database (:mod:`shopkg.db`) and the command line (:mod:`shopkg.cli`). The domain packages
(`kg`, `extraction`, `encoders`, `retrieval`, `webapp`) sit beside it at the top level.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("shopkg")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]

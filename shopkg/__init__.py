"""ShopKG: a knowledge-graph backend for e-commerce.

This package is the top layer: the ``shopkg`` command line (:mod:`shopkg.cli`) and the
evaluation harnesses that drive whole builds (:mod:`shopkg.evals`). It may import every other
package and none imports it. The foundation it all stands on (settings, errors, the metadata
database) is :mod:`foundation`; ARCHITECTURE.md has the layer order.
"""

from foundation import __version__

__all__ = ["__version__"]

"""The demo catalog generator (:mod:`catalog.demo.generate`) and what it is built from.

Importing this package loads none of the generator's modules: the web app reads
:data:`GENERATED_NOTICE` from here without paying for the vocabularies and drawing code.
"""

GENERATED_NOTICE = (
    "This is generated demo data: every product, brand, price, review, question and image in "
    "it was made up by ShopKG's demo catalog generator and describes nothing real."
)

__all__ = ["GENERATED_NOTICE"]

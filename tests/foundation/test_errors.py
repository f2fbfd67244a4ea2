from __future__ import annotations

import inspect

import pytest

from foundation import errors


def _error_classes() -> list[type[errors.ShopKGError]]:
    return [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.ShopKGError)
    ]


def test_every_error_derives_from_the_root_and_has_its_own_code() -> None:
    classes = _error_classes()
    assert len(classes) > 10
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes)), codes


def test_require_names_the_package_and_how_to_install_it() -> None:
    with pytest.raises(errors.MissingDependencyError, match=r"pip install 'shopkg\[gpu\]'"):
        errors.require("shopkg_no_such_module", extra="gpu")
    assert errors.require("json") is not None

"""The command groups other modules add to: ``shopkg eval …`` and ``shopkg train …``."""

from __future__ import annotations

import click


@click.group("eval")
def eval_group() -> None:
    """Evaluate a part of ShopKG on a data set; metrics as JSON on the last line."""


@click.group("train")
def train_group() -> None:
    """Train ShopKG's own models."""


def register(group: click.Group) -> None:
    for command in (eval_group, train_group):
        group.add_command(command)

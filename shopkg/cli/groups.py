"""The command groups other modules add to: ``shopkg eval …`` and ``shopkg train …``."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("eval")
def eval_group() -> None:
    """Evaluate a part of ShopKG on a data set; metrics as JSON on the last line."""


@click.group("train")
def train_group() -> None:
    """Train ShopKG's own models."""


def demo_truth(data: Path) -> Path:
    """The ``truth.jsonl`` of a demo catalog directory, for the evaluations that score a
    build against it; a usage error when the directory has none."""
    truth = data / "truth.jsonl"
    if not truth.is_file():
        raise click.UsageError(
            f"{data} has no truth.jsonl; write one with `shopkg demo-catalog --truth`"
        )
    return truth


def register(group: click.Group) -> None:
    for command in (eval_group, train_group):
        group.add_command(command)

"""``shopkg worker``: run the build jobs queued from the admin dashboard."""

from __future__ import annotations

import json
import sys

import click

from shopkg.cli import CliState, pass_state


@click.command("worker")
@click.option("--once", is_flag=True, help="Run what is queued now, then stop.")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="Seconds between looks at the queue.",
)
@pass_state
def worker(state: CliState, once: bool, interval: float) -> None:
    """Run queued build jobs (the dashboard's re-run button), oldest first.

    Resumes a queued job that was started and died. With the embedded Kùzu store, run it
    while `shopkg serve` is stopped: the graph is one process's at a time. Prints one JSON
    line per job run; a failed job is recorded as failed and the worker goes on.
    """
    from jobs.worker import run_queued

    for line in run_queued(state.settings, once=once, interval=interval, stream=sys.stderr):
        click.echo(json.dumps(line))


def register(group: click.Group) -> None:
    group.add_command(worker)

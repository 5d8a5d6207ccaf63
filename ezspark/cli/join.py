"""``ezspark join`` and ``ezspark invite``: other machines in a served run."""
from __future__ import annotations

from pathlib import Path

import click

from ezspark.distributed import invite
from ezspark.distributed.join import join
from ezspark.cli.errors import user_errors
from ezspark.cli.signals import sigterm_as_interrupt


@click.command("join")
@click.argument("address")
@click.option("--credentials", "-c", type=click.Path(dir_okay=False), default=None,
              help="The invitation file of the run (join.pem from its owner).")
@click.option("--workers", "-j", type=click.IntRange(1), default=1, show_default=True,
              help="Worker processes (one core each) this machine contributes.")
@click.option("--timeout", type=click.FloatRange(0.1), default=30.0, show_default=True,
              metavar="SECONDS",
              help="How long to wait for the run's scheduler to answer.  An address where "
                   "nothing listens, or that takes no connection within 4 s, fails at once.")
@click.option("--parent-pid", type=int, default=None, hidden=True)
def join_command(address, credentials, workers, timeout, parent_pid):
    """Contribute this machine's cores to the run served at ADDRESS.

    ADDRESS is HOST:PORT or tls://HOST:PORT, as in the join command the run printed: a
    served run always speaks TLS with the invitation's certificates, so a bare HOST:PORT
    means tls://HOST:PORT, and other schemes are refused.

    Runs until the run ends, Ctrl-C, or the run's owner excludes this machine.  The
    machine must have the same ezspark version as the run and be able to make its
    environment (plugin environments installed).  Needs: pip install 'ezspark[distributed]'.
    """

    try:
        with sigterm_as_interrupt(), user_errors():
            why = join(address, credentials, workers=workers, parent=parent_pid,
                       timeout=timeout, echo=lambda text: click.echo(text, err=True))
    except KeyboardInterrupt:
        if parent_pid is None:
            click.echo("left the run", err=True)
        return
    if parent_pid is None:
        click.echo(f"stopped: {why}", err=True)
        if "excluded" in why:
            raise SystemExit(3)


@click.command("invite")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--name", required=True, help="Who the invitation is for (letters, digits, . _ -).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Where to write it (default: RUN_DIR/serve/join-NAME.pem).")
def invite_command(run_dir, name, output):
    """Sign one more invitation for the run served from RUN_DIR.

    One invitation per person lets safeness tell their workers apart (docs/algorithm.md 7.2:
    a check is made by a worker with other credentials on another machine)."""

    with user_errors():
        directory = Path(run_dir)
        serve = directory / "serve" if (directory / "serve").is_dir() else directory
        path = invite(serve, name, output)
    click.echo(f"wrote {path}: give it to {name}; they join with\n"
               f"  python -m ezspark join ADDRESS --credentials {path.name}")

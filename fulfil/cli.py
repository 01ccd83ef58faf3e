"""`fulfil`: the operations command. It talks to the broker and to the services' ops APIs,
never to their databases or code. Every command takes `--json`."""

from __future__ import annotations

import getpass

import click

from fulfil.backorders import backorders
from fulfil.config import Config
from fulfil.coupons import coupons
from fulfil.delays import delays
from fulfil.dlq import dlq
from fulfil.exchanges import exchanges
from fulfil.flow import lag, tail, topics
from fulfil.funnel import funnel
from fulfil.order import order
from fulfil.parcels import parcels
from fulfil.refunds import refunds
from fulfil.search import search
from fulfil.status import status, stock
from fulfil.stuck import stuck
from fulfil.warehouse import warehouse


def _actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unnamed"


@click.group()
@click.option(
    "--bootstrap",
    envvar="FULFIL_KAFKA_BOOTSTRAP",
    default="127.0.0.1:9092",
    show_default=True,
    help="the broker (env FULFIL_KAFKA_BOOTSTRAP)",
)
@click.option(
    "--ops-key",
    envvar="FULFIL_OPS_API_KEY",
    default="dev-ops-key",
    help="the services' operations key (env FULFIL_OPS_API_KEY)",
)
@click.option(
    "--actor",
    envvar="FULFIL_ACTOR",
    default=_actor,
    help="your name, recorded with every action (env FULFIL_ACTOR)",
)
@click.option("--group-suffix", envvar="FULFIL_GROUP_SUFFIX", default="", hidden=True)
@click.pass_context
def cli(ctx: click.Context, bootstrap: str, ops_key: str, actor: str, group_suffix: str) -> None:
    """Operations: the flow, the lag and the dead letters of the fulfil services.

    Each service's URL comes from FULFIL_<SERVICE>_URL (e.g. FULFIL_PAYMENT_URL), else the
    local stack's port."""
    ctx.obj = Config(bootstrap, ops_key, actor, group_suffix)


cli.add_command(lag)
cli.add_command(tail)
cli.add_command(topics)
cli.add_command(dlq)
cli.add_command(order)
cli.add_command(refunds)
cli.add_command(stuck)
cli.add_command(funnel)
cli.add_command(search)
cli.add_command(status)
cli.add_command(stock)
cli.add_command(coupons)
cli.add_command(parcels)
cli.add_command(backorders)
cli.add_command(warehouse)
cli.add_command(delays)
cli.add_command(exchanges)


def main() -> None:
    cli()

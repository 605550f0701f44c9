"""The `flux-edge` command, on click.

Each command imports what it needs when it runs, so `flux-edge serve` (whose start time is
measured) loads click and the serving path only. Failures print ONE line, `flux-edge: ...`, on
stderr and exit non-zero: 1 for a failed operation, 2 for a usage error, 130 for Ctrl-C.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from flux_edge import __version__
from flux_edge.cli.bench import bench
from flux_edge.cli.env import env
from flux_edge.cli.functions import functions
from flux_edge.cli.local import backup, restore, serve, token
from flux_edge.cli.session import completion, dev, login, logs

CONTEXT = {"help_option_names": ["-h", "--help"], "show_default": True, "max_content_width": 100}


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    click.echo(f"flux-edge {__version__} (V8 {_v8_version()})")
    ctx.exit()


def _v8_version() -> str:
    # Loading the library and asking it is cheap; creating an isolate (MiniRacer()) costs ~45 MB.
    from py_mini_racer._dll import init_mini_racer

    return str(init_mini_racer(ignore_duplicate_init=True).mr_v8_version().decode())


@click.group(context_settings=CONTEXT)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Print the flux-edge and V8 versions.",
)
def cli() -> None:
    """Self-hosted edge-functions runtime: run the server, and manage functions on it.

    \b
    Server and data dir:  serve, dev, token, backup, restore
    A running server:     login, functions, env, logs, bench
    Client commands find the server in --url, FLUX_EDGE_URL or the file `flux-edge login`
    writes (default http://127.0.0.1:8080), and the token in FLUX_EDGE_TOKEN or that file.

    \b
    Examples:
      flux-edge serve --port 8080
      flux-edge functions deploy supabase/functions
      flux-edge functions invoke hello -d '{"name": "Ada"}'
    """


for command in (serve, dev, token, backup, restore, login, functions, env, logs, bench, completion):
    cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `flux-edge` console script and `python -m flux_edge`."""
    from flux_edge.client.config import ClientError

    try:
        result = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="flux-edge",
            complete_var="_FLUX_EDGE_COMPLETE",
            standalone_mode=False,
        )
    except click.exceptions.NoArgsIsHelpError as exc:
        # `flux-edge` or `flux-edge functions` alone: the help, as click shows it.
        click.echo(exc.format_message(), err=True)
        return 2
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        _fail(f"{exc.format_message()}{hint}")
        return 2
    except click.ClickException as exc:
        _fail(exc.format_message())
        return exc.exit_code
    except ClientError as exc:
        _fail(str(exc))
        return 1
    except (click.Abort, KeyboardInterrupt):
        return 130
    return result if isinstance(result, int) else 0


def _fail(message: str) -> None:
    # One line: whatever the message holds, a script reading stderr sees a single line.
    print("flux-edge: " + " ".join(message.split()), file=sys.stderr)

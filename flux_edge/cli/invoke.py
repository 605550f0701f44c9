"""`flux-edge functions invoke NAME`: call a function through the server and print its answer."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from flux_edge.cli.names import name_argument
from flux_edge.cli.output import api_client, json_option, print_json, url_option

EXAMPLES = """\b
Examples:
  flux-edge functions invoke hello
  flux-edge functions invoke hello -d '{"name": "Ada"}'
  flux-edge functions invoke hello --path greet -d @body.json
  flux-edge functions invoke hello -X GET --path time -H 'x-trace: 1' --json
"""


@click.command(epilog=EXAMPLES)
@name_argument
@click.option(
    "-d",
    "--data",
    metavar="BODY",
    help="The request body: text (JSON is sent as application/json), @FILE, or @- for stdin.",
)
@click.option(
    "-X", "--method", default="POST", help="The HTTP method.", callback=lambda c, p, v: v.upper()
)
@click.option(
    "-H",
    "--header",
    "headers",
    multiple=True,
    metavar="'NAME: VALUE'",
    help="A request header (repeatable).",
)
@click.option(
    "--path",
    "sub_path",
    default="",
    show_default=False,
    help="A sub-path after the function's name.",
)
@click.option("--timeout", type=float, default=120.0, help="Seconds to wait for the answer.")
@url_option
@json_option
def invoke(
    name: str,
    data: str | None,
    method: str,
    headers: tuple[str, ...],
    sub_path: str,
    timeout: float,
    url: str | None,
    as_json: bool,
) -> int:
    """Call a function and print its response body (the call is recorded like any other).

    The token, when there is one, is sent, so private functions answer too. A response with an
    error status prints its body, then one line on stderr, and exits 1. With --json the output is
    {"status", "headers", "execution_id", "body"} and the exit status is 0 whatever the function
    answered.
    """
    body = _body(data)
    sent = dict(_header(h) for h in headers)
    if body is not None and not any(k.lower() == "content-type" for k in sent):
        sent["Content-Type"] = "application/json" if _is_json(body) else "text/plain"
    with api_client(url) as client:
        response = client.invoke(
            name, method=method, sub_path=sub_path, body=body, headers=sent, timeout=timeout
        )
    execution_id = response.headers.get("x-flux-execution-id")
    if as_json:
        print_json(
            {
                "status": response.status_code,
                "headers": dict(response.headers),
                "execution_id": execution_id,
                "body": response.text,
            }
        )
        return 0
    if execution_id is None and response.is_error:
        # The server answered, not the function (unknown, disabled, auth, rate limit): one line.
        from flux_edge.client.api import ApiError, error_text

        raise ApiError(f"{name}: {error_text(response)}", response.status_code)
    sys.stdout.write(response.text)
    if response.text and not response.text.endswith("\n") and sys.stdout.isatty():
        sys.stdout.write("\n")
    sys.stdout.flush()
    if response.is_error:
        print(
            f"flux-edge: {name} answered HTTP {response.status_code} (execution {execution_id})",
            file=sys.stderr,
        )
        return 1
    return 0


def _body(data: str | None) -> bytes | None:
    if data is None:
        return None
    if data == "@-":
        return sys.stdin.buffer.read()
    if data.startswith("@"):
        try:
            return Path(data[1:]).read_bytes()
        except OSError as exc:
            raise click.BadParameter(f"cannot read {data[1:]}: {exc.strerror}") from None
    return data.encode()


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise click.BadParameter(f"{text!r} is not 'NAME: VALUE'", param_hint="'--header'")
    return name.strip(), value.strip()


def _is_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return False
    return True

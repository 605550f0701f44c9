"""The OpenAPI document and its docs page, served entirely from the installed packages.

Swagger UI's assets come from the `swagger-ui-py` wheel (its `static/` folder) and are served under
`/schema/assets/`, so `/schema` works on a machine without internet. The document declares the
bearer scheme (generated clients and the "Authorize" button know about the token) and readable
operation ids (`createFunction`, `invokeFunctionPost`, ...).
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.router import Router
from litestar.static_files import create_static_files_router
from litestar.types import Method

from flux_edge import __version__

SCHEMA_PATH = "/schema"
ASSETS_PATH = SCHEMA_PATH + "/assets"
BEARER = "bearer"
# Management needs the bearer; invocation takes it when the function asks for it (`{}`: none).
MANAGEMENT_SECURITY: list[dict[str, list[str]]] = [{BEARER: []}]
OPTIONAL_SECURITY: list[dict[str, list[str]]] = [{}, {BEARER: []}]
FUNCTION_RESPONSE = (
    "The function's own response: its status (200 unless it says otherwise), headers and body"
)

# Found, not imported: importing swagger_ui loads jinja2 (~40 ms), and only its files are served.
_SWAGGER_UI = find_spec("swagger_ui")
if _SWAGGER_UI is None or _SWAGGER_UI.origin is None:
    raise ImportError("swagger-ui-py is a dependency of flux-edge and is not installed")
_STATIC = Path(_SWAGGER_UI.origin).parent / "static"
_SUB_PATH_PARAMETERS = frozenset({"path", "rest"})


def operation_id(route: HTTPRouteHandler, method: Method, components: list[object]) -> str:
    """`createFunction`; `invokeFunctionPost` where one handler answers many methods;
    `...SubPath` for its sub-path route."""
    head, *rest = route.handler_name.split("_")
    name = head + "".join(part.title() for part in rest)
    if len(route.http_methods) > 1:
        name += str(getattr(method, "value", method)).title()
    if any(getattr(c, "name", None) in _SUB_PATH_PARAMETERS for c in components):
        name += "SubPath"
    return name


def openapi_config() -> OpenAPIConfig:
    """The OpenAPI settings: Swagger UI at /schema, the document at /schema/openapi.json|yaml."""
    favicon = f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/favicon-32x32.png'>"
    swagger = SwaggerRenderPlugin(
        js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        css_url=f"{ASSETS_PATH}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
        path=["/", "/swagger"],
        favicon=favicon,
    )
    return OpenAPIConfig(
        title="flux-edge",
        version=__version__,
        path=SCHEMA_PATH,
        render_plugins=[swagger, JsonRenderPlugin(), YamlRenderPlugin()],
        components=Components(
            security_schemes={
                BEARER: SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="The admin token, an API token (`flux-edge token create`) or a "
                    "JWT signed with FLUX_EDGE_JWT_SECRET.",
                )
            }
        ),
        operation_id_creator=operation_id,  # type: ignore[arg-type]
    )


def docs_assets() -> Router:
    """Swagger UI's scripts, styles and icons from the swagger-ui-py package."""
    return create_static_files_router(
        path=ASSETS_PATH, directories=[_STATIC], include_in_schema=False, name="docs_assets"
    )

"""The OpenAPI pages, with every script, style and icon served by the API itself (no CDN).

Litestar's pages load Swagger UI, Redoc and a favicon from public CDNs, so on an offline deployment they are
blank. Here they load ``/schema/assets/…``, a static route over the Swagger UI and Redoc dist builds that the
``drf-spectacular-sidecar`` wheel installs (a PyPI package of exactly those files; the repository commits no
third-party JS or CSS). The package is located, not imported: importing it would import Django.

Pages: Redoc at ``/schema`` and ``/schema/redoc``, Swagger UI at ``/schema/swagger``, the schema itself at
``/schema/openapi.json`` and ``/schema/openapi.yaml``. Litestar's other pages (RapiDoc, Stoplight Elements,
Scalar) have no packaged build and are not served.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import (
    JsonRenderPlugin,
    OpenAPIRenderPlugin,
    RedocRenderPlugin,
    SwaggerRenderPlugin,
    YamlRenderPlugin,
)
from litestar.static_files import create_static_files_router

DOCS_PATH = "/schema"
ASSETS_PATH = f"{DOCS_PATH}/assets"
ASSETS_PACKAGE = "drf_spectacular_sidecar"
SWAGGER = f"{ASSETS_PATH}/swagger-ui-dist"
FAVICON = f"<link rel='icon' type='image/png' href='{SWAGGER}/favicon-32x32.png'>"


class DocsAssetsMissing(RuntimeError):
    pass


def assets_directory() -> Path:
    """Where the installed wheel keeps the dist builds (``swagger-ui-dist/``, ``redoc/``)."""
    spec = importlib.util.find_spec(ASSETS_PACKAGE)  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise DocsAssetsMissing(f"the {ASSETS_PACKAGE} package is not installed: run 'make setup'")
    directory = Path(next(iter(spec.submodule_search_locations))) / "static" / ASSETS_PACKAGE
    if not (directory / "swagger-ui-dist" / "swagger-ui-bundle.js").is_file():
        raise DocsAssetsMissing(f"{directory} holds no Swagger UI build: reinstall {ASSETS_PACKAGE}")
    return directory


def render_plugins() -> list[OpenAPIRenderPlugin]:
    return [
        RedocRenderPlugin(
            path=["/", "/redoc"],
            js_url=f"{ASSETS_PATH}/redoc/bundles/redoc.standalone.js",
            google_fonts=False,  # Redoc falls back to the browser's fonts
            favicon=FAVICON,
        ),
        SwaggerRenderPlugin(
            js_url=f"{SWAGGER}/swagger-ui-bundle.js",
            css_url=f"{SWAGGER}/swagger-ui.css",
            standalone_preset_js_url=f"{SWAGGER}/swagger-ui-standalone-preset.js",
            favicon=FAVICON,
        ),
        JsonRenderPlugin(),
        YamlRenderPlugin(),
    ]


def openapi_config(title: str, version: str) -> OpenAPIConfig:
    return OpenAPIConfig(title=title, version=version, path=DOCS_PATH, render_plugins=render_plugins())


def assets_router() -> Router:
    # include_in_schema is False by default: the files are not part of the API. They change only with the
    # installed package, so a browser may keep them for an hour.
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[assets_directory()],
        name="docs-assets",
        cache_control=CacheControlHeader(max_age=3600),
    )

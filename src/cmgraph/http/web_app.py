"""The web app (``web/``, built by ``npm run build``), served from ``/``.

Its files are under ``/assets/`` with names that change with their content, so they are
cached for a year; every other page a browser opens (``/actions/5``, ``/sign-in``...) gets
``index.html``, where the app's router takes over. Only navigations fall back to it (the
request accepts ``text/html``): an API client asking for a path that is not there still gets
the JSON 404 every other route gives. GraphiQL is a second page of the same build
(``graphiql.html``), which ``/graphql`` gives browsers. Without a build, both say how to
make one and the API works as ever.
"""

from __future__ import annotations

import logging
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from cmgraph.domain.persisted_documents import TrustedDocuments, TrustedDocumentsError
from cmgraph.http.errors import error_response

MANIFEST = "persisted-documents.json"  # written by the build beside index.html
log = logging.getLogger("cmgraph.http")

BUILD_HINT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cmgraph</title></head>
<body><main>
<h1>cmgraph</h1>
<p>The GraphQL API answers at <code>/graphql</code>, but the web app and its GraphQL IDE
(GraphiQL) are not built yet: run <code>npm ci &amp;&amp; npm run build</code> in the
<code>web/</code> folder of the repository (Node 20 and npm), or point
<code>CMGRAPH_WEB_DIR</code> at a built app, then restart the server.</p>
</main></body></html>
"""


class _Assets(StaticFiles):
    """Hashed build files: the same name always holds the same bytes."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def web_app_documents(web_dir: Path) -> TrustedDocuments | None:
    """The GraphQL documents the built app sends (its codegen manifest), known by hash.

    They only save a round trip, so a broken manifest is logged and left out: the API runs.
    """
    manifest = web_dir / MANIFEST
    if not manifest.is_file():
        return None
    try:
        return TrustedDocuments.load(manifest, "the web app's build")
    except TrustedDocumentsError as error:
        log.warning("not using the web app's documents: %s", error)
        return None


def _built_page(path: Path) -> Response:
    if not path.is_file():
        return HTMLResponse(BUILD_HINT, headers={"Cache-Control": "no-cache"})
    return FileResponse(path, headers={"Cache-Control": "no-cache"})


def graphql_ide_page(web_dir: Path) -> Response:
    """GraphiQL from the build: no script comes from another site."""
    return _built_page(web_dir / "graphiql.html")


def web_app_routes(web_dir: Path) -> list[BaseRoute]:
    """``/assets/*`` and the fallback to ``index.html``; put them after every other route."""

    async def page(request: Request) -> Response:
        if "text/html" not in request.headers.get("accept", ""):
            return error_response(404, "NOT_FOUND", f"Nothing at {request.url.path}.")
        return _built_page(web_dir / "index.html")

    routes: list[BaseRoute] = []
    if (web_dir / "assets").is_dir():
        routes.append(Mount("/assets", app=_Assets(directory=web_dir / "assets")))
    routes.append(Route("/{path:path}", page, methods=["GET"]))
    return routes

"""Who may read what: resolve a request's credentials to the one site it may read.

A secret key reads its own site only. Public keys read nothing. Dashboard sessions and API
tokens are resolved here as well, so every read endpoint asks the same question the same way.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from clycyo.config.store import Site


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.message}, status_code=self.status)


def authorize_site(request: Request, domain: str | None = None) -> Site:
    """The site named by `?site=` (or `domain`), if the request's credentials may read it."""
    runtime = request.app.state.runtime
    wanted = domain or request.query_params.get("site")
    if not wanted:
        raise ApiError(400, "site: required")
    authorization = request.headers.get("authorization", "")
    if not authorization.startswith("Bearer "):
        raise ApiError(401, "authorization: a secret key or API token is required")
    token = authorization.removeprefix("Bearer ").strip()
    site = runtime.directory.by_secret_key(token)
    if site is None:
        raise ApiError(401, "authorization: unknown or revoked key")
    target = runtime.directory.by_domain(wanted.strip().lower().removeprefix("www."))
    if target is None or target.id != site.id:
        raise ApiError(403, f"site: this key cannot read {wanted}")
    return site  # type: ignore[no-any-return]

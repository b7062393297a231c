"""``GET /v1/erasures/{erasure_id}``: the receipt of an erasure, for the admins of the app it erased in.

Any other caller learns nothing: without the ``admin`` scope a 403 (before the id is looked up), and an id of
another app is the same 404 as an unknown id.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import PathParameter

from api.erasure.desk import ErasureDesk, desk_of
from api.erasure.ledger import ErasureRequest
from api.erasure.schemas import ErasureReceipt
from api.errors import Forbidden, NotFound
from api.gateway.principal import Principal, Scope
from api.openapi import error_responses
from api.schemas import ErrorBody
from memory.contract.validation import ID_PATTERN, MAX_ID_CHARS

ErasureId = Annotated[
    str,
    PathParameter(
        min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN, description="from the erase request's answer"
    ),
]
RECEIPT_RESPONSES = {
    **error_responses(400, 429, 503),
    403: ResponseSpec(ErrorBody, description="The credential has no 'admin' scope.", generate_examples=False),
    404: ResponseSpec(
        ErrorBody,
        description="No erasure with this id in the caller's app: the same answer for another app's id.",
        generate_examples=False,
    ),
}
UNKNOWN = "no erasure with this id"
# The routes that erase or report name the desk as a dependency of their own.
ERASURES = {"erasures": Provide(desk_of, sync_to_thread=False)}


def may_read(principal: Principal, request: ErasureRequest) -> bool:
    """An app-wide admin of the request's app reads its receipts, whichever user it erased (erasing a user is an
    admin's act for the app, and so is proving it); a user-bound admin only its own user's, as everywhere else
    (api.gateway.tenancy). ``app_id`` None: the caller of an API without authentication."""
    same_app = principal.app_id is None or principal.app_id == request.app_id
    return same_app and principal.user_id in (None, request.user_id)


class ErasuresController(Controller):
    path = "/v1/erasures"
    tags = ["erasures"]  # noqa: RUF012 - Litestar declares tags as a class attribute list
    dependencies = ERASURES

    @get(
        "/{erasure_id:str}",
        summary="Whether an erased user's data is gone from every store (admin)",
        responses=RECEIPT_RESPONSES,
    )
    async def receipt(
        self, erasure_id: ErasureId, request: Request[Principal, Any, Any], erasures: NamedDependency[ErasureDesk]
    ) -> ErasureReceipt:
        principal = request.user
        if Scope.ADMIN not in principal.scopes:
            raise Forbidden("reading an erasure receipt needs the 'admin' scope")
        found = await erasures.find(erasure_id)
        if found is None or not may_read(principal, found):
            raise NotFound(UNKNOWN)
        return await erasures.receipt(found)

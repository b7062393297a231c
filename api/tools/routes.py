"""``GET /v1/tools`` (the schemas a model is given) and ``POST /v1/tools/{name}`` (run a model's call)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, PathParameter

from api.errors import Forbidden, NotFound
from api.gateway import tenancy
from api.gateway.principal import Principal
from api.gateway.tenancy import authorize, grants, missing_scope
from api.openapi import READ, error_responses
from api.schemas import ErrorBody
from api.services import Services
from api.tools.arguments import parse_arguments
from api.tools.registry import REGISTRY
from api.tools.schemas import FunctionTool, ToolCallRequest, ToolList, ToolResult

UNKNOWN_TOOL = ResponseSpec(
    data_container=ErrorBody, description="No tool of that name: `detail` lists the tools.", generate_examples=False
)
ToolName = Annotated[str, PathParameter(min_length=1, max_length=64, description="a tool's name, from GET /v1/tools")]


class ToolsController(Controller):
    path = "/v1/tools"
    tags = ["tools"]  # noqa: RUF012 - Litestar declares tags as a class attribute list

    @get("/", summary="The memory tools as OpenAI function-tool schemas, to give a model", responses=READ)
    async def list_tools(self, caller: NamedDependency[Principal]) -> ToolList:
        # The schemas are the same for every user, so no user is named: the credential needs only the scope.
        if not grants(caller, tenancy.READ):
            raise Forbidden(missing_scope(tenancy.READ))
        return ToolList(tools=[msgspec.convert(tool.definition, FunctionTool) for tool in REGISTRY.values()])

    @post(
        "/{name:str}",
        status_code=200,
        summary="Run a model's tool call; the answer's text is the tool result to hand back to the model",
        responses={**error_responses(400, 403, 413, 415, 422, 429, 503), 404: UNKNOWN_TOOL},
        opt={"idempotent": True},  # Idempotency-Key (api/idempotency): a retried insert never stores twice
    )
    async def call(
        self,
        name: ToolName,
        data: JSONBody[ToolCallRequest],
        caller: NamedDependency[Principal],
        services: NamedDependency[Services],
    ) -> ToolResult:
        tool = REGISTRY.get(name)
        if tool is None:  # tool names are no tenant's data: saying which exist reveals nothing
            raise NotFound(f"no tool named {name!r}; the tools are {', '.join(REGISTRY)}")
        scope = authorize(caller, tool.needs, data.app_id, data.user_id, data.agent_id)
        arguments = parse_arguments(name, data.arguments)
        text, result, token = await tool.handler(services, scope, arguments)
        return ToolResult(name=name, text=text, data=result, consistency_token=token)

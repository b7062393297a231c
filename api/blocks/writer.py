"""Block edits: checked against the projected block, then produced as a command for the lifecycle agent.

The check answers what it can at once (404 unknown label, 409 existing label or missing old text, 422 over
the limit) with the words of ``memory.blocks.rules``, which the agent decides with too. A check reads the
projection, which may not have applied the caller's previous edit yet; so a refusal is only given after
waiting until every command produced before it is applied, and checking again. The happy path never waits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from adapters.logs import REQUEST_ID
from api.blocks.reader import BlockReader
from api.blocks.schemas import BlockOut, BlockWriteAccepted
from api.consistency import ConsistencyWaiter
from api.errors import Conflict, InvalidRequest, NotFound, Unprocessable
from api.refusals import answered_as_http
from api.writer import COMPONENT, CommandWriter
from memory.blocks import rules
from memory.blocks.rules import BlockView, Edit, EditRefused, RefusalKind
from memory.contract.events import Scope, new_command
from memory.contract.validation import check_block_text

Decide = Callable[[BlockView], Edit]

_STATUS = {
    RefusalKind.UNKNOWN_LABEL: NotFound,
    RefusalKind.LABEL_EXISTS: Conflict,
    RefusalKind.OLD_TEXT_MISSING: Conflict,
    RefusalKind.OVER_LIMIT: Unprocessable,
    RefusalKind.INVALID: InvalidRequest,
}


def as_http(refused: EditRefused) -> Exception:
    return _STATUS[refused.kind](refused.message)


def check_text(text: str, field: str) -> None:
    with answered_as_http():
        check_block_text(text, field)


class BlockWriter:
    def __init__(self, reader: BlockReader, commands: CommandWriter, consistency: ConsistencyWaiter):
        self._reader = reader
        self._commands = commands
        self._consistency = consistency

    async def _checked(self, scope: Scope, label: str, decide: Decide) -> Edit:
        try:
            return decide(await self._reader.current_view(scope, label))
        except EditRefused as refused:
            if refused.kind is RefusalKind.INVALID:
                raise as_http(refused) from refused
        await self._consistency.wait_for_commands()  # the projection may lag an earlier edit: catch up, look again
        try:
            return decide(await self._reader.current_view(scope, label))
        except EditRefused as refused:
            raise as_http(refused) from refused

    async def _issue(
        self,
        scope: Scope,
        command: str,
        label: str,
        edit: Edit,
        text: str | None = None,
        old_text: str | None = None,
        new_text: str | None = None,
        limit: int | None = None,
    ) -> BlockWriteAccepted:
        now = datetime.now(UTC)
        event = new_command(
            scope, command, now, COMPONENT, text=text, label=label, old_text=old_text, new_text=new_text, limit=limit,
            correlation_id=REQUEST_ID.get(),  # the HTTP request's id (adapters/logs.py); none: the command's own
        )
        accepted = await self._commands.send(scope, [event])
        written = edit.change is not rules.Change.DELETED
        block = BlockOut(
            label=label,
            value=edit.value,
            limit=edit.limit,
            version=edit.version if written else 0,
            updated_at=now if written else None,
            app_id=scope.app_id,
            user_id=scope.user_id,
            agent_id=scope.agent_id,
        )
        return BlockWriteAccepted("accepted", accepted.event_ids, accepted.consistency_token, block)

    async def create(self, scope: Scope, label: str, value: str, limit: int) -> BlockWriteAccepted:
        check_text(value, "value")
        edit = await self._checked(scope, label, lambda block: rules.create(block, value, limit))
        return await self._issue(scope, "block_create", label, edit, text=value, limit=limit)

    async def append(self, scope: Scope, label: str, content: str) -> BlockWriteAccepted:
        check_text(content, "content")
        edit = await self._checked(scope, label, lambda block: rules.append(block, content))
        return await self._issue(scope, "block_append", label, edit, text=content)

    async def replace(self, scope: Scope, label: str, old: str, new: str) -> BlockWriteAccepted:
        check_text(old, "old")
        check_text(new, "new")
        edit = await self._checked(scope, label, lambda block: rules.replace(block, old, new))
        return await self._issue(scope, "block_replace", label, edit, old_text=old, new_text=new)

    async def delete(self, scope: Scope, label: str) -> BlockWriteAccepted:
        edit = await self._checked(scope, label, rules.delete)
        return await self._issue(scope, "block_delete", label, edit)

"""The unit of work: all or nothing, savepoints included, on every backend."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cmgraph.domain import accounts
from cmgraph.domain.enums import OrgRole
from cmgraph.domain.models import User


async def users(uow) -> list[str]:
    async with uow() as u:
        return list((await u.session.scalars(select(User.email).order_by(User.email))).all())


async def test_a_savepoint_after_a_read_is_rolled_back_with_its_unit_of_work(uow) -> None:
    """Bulk imports check each row in a savepoint; a failed import must leave nothing."""
    with pytest.raises(RuntimeError):
        async with uow() as u:
            await u.session.scalar(select(func.count()).select_from(User))  # a read first
            async with u.session.begin_nested():
                await accounts.create_user(u, "kept@example.test", "Kept", OrgRole.READER)
            await accounts.create_user(u, "later@example.test", "Later", OrgRole.READER)
            raise RuntimeError("the import failed")
    assert await users(uow) == []


async def test_a_failed_savepoint_undoes_only_its_own_work(uow) -> None:
    async with uow() as u:
        await u.session.scalar(select(func.count()).select_from(User))
        await accounts.create_user(u, "first@example.test", "First", OrgRole.READER)
        with pytest.raises(RuntimeError):
            async with u.session.begin_nested():
                await accounts.create_user(u, "refused@example.test", "Refused", OrgRole.READER)
                raise RuntimeError("this row is refused")
        await accounts.create_user(u, "second@example.test", "Second", OrgRole.READER)
    assert await users(uow) == ["first@example.test", "second@example.test"]

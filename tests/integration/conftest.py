from __future__ import annotations

from collections.abc import Iterator

import pytest
from neo4j import Driver, GraphDatabase
from pymilvus import MilvusClient
from redis import Redis

from memory.settings import Settings
from tests.support import isolated_settings


@pytest.fixture
def settings(stack_settings: Settings) -> Settings:
    return isolated_settings(stack_settings)


@pytest.fixture(scope="session")
def neo4j_driver(stack_settings: Settings) -> Iterator[Driver]:
    driver = GraphDatabase.driver(
        stack_settings.neo4j_uri, auth=(stack_settings.neo4j_user, stack_settings.neo4j_password)
    )
    yield driver
    driver.close()


@pytest.fixture(scope="session")
def milvus(stack_settings: Settings) -> MilvusClient:
    return MilvusClient(uri=stack_settings.milvus_uri)


@pytest.fixture(scope="session")
def redis_client(stack_settings: Settings) -> Redis:
    return Redis.from_url(stack_settings.redis_url)

"""Two test runs on one machine each get a Redis database and a test database of their own."""

import os

import redis
from django.conf import settings
from django.db import connection

from config.settings_test import CLAIM_KEY, claim_redis_database, redis_url_with_db


def test_this_run_holds_its_redis_database_and_a_second_run_gets_another():
    mine = redis.connection.parse_url(settings.REDIS_URL)["db"]
    registry = redis.Redis.from_url(redis_url_with_db(settings.REDIS_URL, 0))
    assert registry.get(CLAIM_KEY % mine).decode().endswith(f":{os.getpid()}")

    # What a second run, configured with the same REDIS_URL, would be given.
    other = claim_redis_database(settings.REDIS_URL)
    try:
        assert redis.connection.parse_url(other)["db"] not in (0, mine)
    finally:
        registry.delete(CLAIM_KEY % redis.connection.parse_url(other)["db"])


def test_the_test_database_is_named_after_this_run(db):
    assert connection.settings_dict["NAME"].endswith(f"_{os.getpid()}")

"""The project starts, migrates and talks to its Redis."""

import django_rq
from django.core.management import call_command


def test_migrations_are_complete(db):
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_redis_is_reachable():
    assert django_rq.get_connection("default").ping()

"""Partner tokens at rest: encrypted, readable across a key rotation, and loud when no key fits."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection as db_connection
from django.test import override_settings

from connections.fields import TokenDecryptionError
from connections.models import Connection
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def _raw_tokens(pk):
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM connections_connection WHERE id = %s", [pk])
        return cursor.fetchone()


def test_the_stored_column_holds_fernet_ciphertext_not_the_token():
    connection = ConnectionFactory(access_token="EAAB-plain-access", refresh_token="plain-refresh")

    access, refresh = _raw_tokens(connection.pk)

    for stored, plain in ((access, "EAAB-plain-access"), (refresh, "plain-refresh")):
        assert stored.startswith("gAAAAA")
        assert plain not in stored
    connection.refresh_from_db()
    assert (connection.access_token, connection.refresh_token) == ("EAAB-plain-access", "plain-refresh")


def test_empty_tokens_stay_empty():
    connection = ConnectionFactory(access_token="", refresh_token="")

    assert _raw_tokens(connection.pk) == ("", "")
    connection.refresh_from_db()
    assert connection.refresh_token == ""


def test_rows_written_under_the_old_key_still_read_once_a_new_key_is_prepended():
    with override_settings(TOKEN_ENCRYPTION_KEYS=[OLD_KEY]):
        connection = ConnectionFactory(access_token="old-era-token")

    with override_settings(TOKEN_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        assert Connection.objects.get(pk=connection.pk).access_token == "old-era-token"
        # A new write is encrypted under the new key alone.
        fresh = ConnectionFactory(access_token="new-era-token")
    with override_settings(TOKEN_ENCRYPTION_KEYS=[NEW_KEY]):
        assert Connection.objects.get(pk=fresh.pk).access_token == "new-era-token"


def test_a_token_no_key_decrypts_raises_instead_of_returning_the_ciphertext():
    with override_settings(TOKEN_ENCRYPTION_KEYS=[OLD_KEY]):
        connection = ConnectionFactory(access_token="lost-token")

    with override_settings(TOKEN_ENCRYPTION_KEYS=[NEW_KEY]):
        with pytest.raises(TokenDecryptionError) as excinfo:
            Connection.objects.get(pk=connection.pk)
        # Everything else about the connection still loads.
        assert Connection.objects.defer("access_token", "refresh_token").get(pk=connection.pk).pk == connection.pk
    assert "lost-token" not in str(excinfo.value)
    assert "gAAAAA" not in str(excinfo.value)


def test_rotate_token_keys_re_encrypts_every_token_so_the_new_key_alone_reads_them():
    with override_settings(TOKEN_ENCRYPTION_KEYS=[OLD_KEY]):
        connections = [ConnectionFactory(access_token=f"a-{n}", refresh_token=f"r-{n}") for n in range(5)]
        only_access = ConnectionFactory(access_token="only-access", refresh_token="")
    before = {c.pk: _raw_tokens(c.pk) for c in connections}

    with override_settings(TOKEN_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        out = _call_rotate("--batch-size", "2")

    assert "connections.Connection: 11 token(s) in 6 row(s) re-encrypted under the first key; 0 row(s)" in out
    with override_settings(TOKEN_ENCRYPTION_KEYS=[NEW_KEY]):
        for n, connection in enumerate(connections):
            reloaded = Connection.objects.get(pk=connection.pk)
            assert (reloaded.access_token, reloaded.refresh_token) == (f"a-{n}", f"r-{n}")
            assert _raw_tokens(connection.pk) != before[connection.pk]
        reloaded = Connection.objects.get(pk=only_access.pk)
        assert (reloaded.access_token, reloaded.refresh_token) == ("only-access", "")
    with override_settings(TOKEN_ENCRYPTION_KEYS=[OLD_KEY]):
        with pytest.raises(TokenDecryptionError):
            Connection.objects.get(pk=connections[0].pk)


def test_rotation_reports_rows_no_key_decrypts_and_rotates_the_rest():
    with override_settings(TOKEN_ENCRYPTION_KEYS=[OLD_KEY]):
        good = ConnectionFactory(access_token="good")
    lost = ConnectionFactory(access_token="lost")  # under the development key, not in the ring below

    with override_settings(TOKEN_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        with pytest.raises(CommandError, match=rf"1 row\(s\) could not be rotated .*connections.Connection {lost.pk}"):
            _call_rotate()

    with override_settings(TOKEN_ENCRYPTION_KEYS=[NEW_KEY]):
        assert Connection.objects.get(pk=good.pk).access_token == "good"


def _call_rotate(*args):
    out = StringIO()
    call_command("rotate_token_keys", *args, stdout=out)
    return out.getvalue()

"""Re-encrypt every stored token under the first key of TOKEN_ENCRYPTION_KEYS.

Rotation, step by step (README "Configuration"):
1. prepend a new key: TOKEN_ENCRYPTION_KEYS=<new>,<old>; deploy (old rows still read);
2. run this command: every token is re-encrypted under <new>;
3. drop the old key: TOKEN_ENCRYPTION_KEYS=<new>; deploy.

Works on every EncryptedTextField of every model, in batches of rows; each
batch is one transaction with its rows locked, so a token refreshed meanwhile
is never overwritten with an older one. The ciphertext is read and written
as it is stored (never decrypted into Python objects), through
MultiFernet.rotate, which keeps each token's original timestamp.
"""

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction
from django.db.models.functions import Cast

from connections.fields import EncryptedTextField, TokenDecryptionError, rotate_token


def encrypted_fields():
    """(model, [field names]) for every model that stores encrypted tokens."""
    for model in apps.get_models():
        names = [field.name for field in model._meta.concrete_fields if isinstance(field, EncryptedTextField)]
        if names:
            yield model, names


class Command(BaseCommand):
    help = "Re-encrypt every stored token under the first key of TOKEN_ENCRYPTION_KEYS (after prepending a new key)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="Rows per transaction (default 500).")

    def handle(self, *args, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        failed = []
        for model, names in encrypted_fields():
            rows, tokens, model_failed = self._rotate_model(model, names, batch_size)
            failed += [f"{model._meta.label} {pk}" for pk in model_failed]
            self.stdout.write(
                f"{model._meta.label}: {tokens} token(s) in {rows} row(s) re-encrypted under the first key; "
                f"{len(model_failed)} row(s) no key decrypts."
            )
        if failed:
            # Said loudly: these rows need a reconnect, or the key that encrypted them back in the ring.
            raise CommandError(f"{len(failed)} row(s) could not be rotated (no key decrypts them): {', '.join(failed)}")

    def _rotate_model(self, model, names, batch_size):
        # Cast to a plain text column so Django hands us the stored ciphertext, not the plaintext.
        raw = {f"raw_{name}": Cast(name, output_field=models.TextField()) for name in names}
        rows = tokens = 0
        failed = []
        last_pk = None
        while True:
            with transaction.atomic():
                queryset = model._base_manager.order_by("pk")
                if last_pk is not None:
                    queryset = queryset.filter(pk__gt=last_pk)
                batch = list(
                    queryset.select_for_update().annotate(**raw).values("pk", *raw)[:batch_size]
                )
                if not batch:
                    break
                for row in batch:
                    last_pk = row["pk"]
                    try:
                        updates = {
                            name: models.Value(rotate_token(row[f"raw_{name}"]), output_field=models.TextField())
                            for name in names
                            if row[f"raw_{name}"]
                        }
                    except TokenDecryptionError:
                        failed.append(row["pk"])
                        continue
                    if updates:
                        # A Value expression is written as it is: the field does not encrypt it again.
                        model._base_manager.filter(pk=row["pk"]).update(**updates)
                        rows += 1
                        tokens += len(updates)
        return rows, tokens, failed

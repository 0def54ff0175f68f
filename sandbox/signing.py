"""The RSA keys sandbox partners sign JWTs with: Google's Pub/Sub push tokens (gbp) and
LinkedIn's OpenID Connect id_token. One key per name, made once and shared through the cache,
so every process signs with, and publishes (its JWKS), the same key: web serves the JWKS, a
worker or a command may sign.
"""

from __future__ import annotations

import json
import secrets

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.cache import cache
from jwt.algorithms import RSAAlgorithm


def signing_key(name: str):
    """(private key, kid) of the key called `name`."""
    cache_key = f"sandbox:signing-key:{name}"
    stored = cache.get(cache_key)
    if stored is None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        cache.add(cache_key, {"pem": pem, "kid": secrets.token_hex(20)}, timeout=None)
        stored = cache.get(cache_key)
    return serialization.load_pem_private_key(stored["pem"].encode(), password=None), stored["kid"]


def jwks(name: str) -> dict:
    """The JWKS ({"keys": [...]}) publishing the public half of the key called `name`."""
    key, kid = signing_key(name)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid=kid, alg="RS256", use="sig")
    return {"keys": [jwk]}


def sign(name: str, claims: dict, key=None) -> str:
    """An RS256 JWT of `claims`, signed with the key called `name` (or `key`, to forge one), its kid in the header."""
    own, kid = signing_key(name)
    return jwt.encode(claims, key or own, algorithm="RS256", headers={"kid": kid})

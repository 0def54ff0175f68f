"""Partner connectors, one module per partner, each with the same shape (see base.py)."""

from connections.platforms.base import (  # noqa: F401
    AccountInfo,
    Connector,
    PartnerError,
    PublishResult,
    TokenSet,
    get_connector,
    get_connector_class,
)

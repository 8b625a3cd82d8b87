"""The XAPI client: ``from xenha.xapi import Settings, Client, XapiError, XapiUnreachable``.

Importing this package is cheap; the XenAPI SDK is imported on first connection.
"""

from .client import Client
from .faults import XapiError, XapiUnreachable
from .settings import Settings

__all__ = ["Settings", "Client", "XapiError", "XapiUnreachable"]

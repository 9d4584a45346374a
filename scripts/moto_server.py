#!/usr/bin/env python3
"""moto's server, with its SigV4 check given the request target as sent.

moto (5.x) rebuilds the request it verifies from the decoded URL, so a signed query value
holding a reserved character (`prefix=nightly%2F`) is verified as `prefix=nightly/` and
refused with SignatureDoesNotMatch — botocore's own requests included. AWS verifies what was
sent; so does this wrapper, which hands moto's verifier the raw request target (RAW_URI)."""
import sys
from urllib.parse import urlparse

from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.responses import BaseResponse
from moto.server import main

original_setup = BaseResponse.setup_class
original_check = ActionAuthenticatorMixin._authenticate_and_authorize_action


def setup_class(self, request, full_url, *args, **kwargs):
    original_setup(self, request, full_url, *args, **kwargs)
    raw = getattr(request, "environ", {}).get("RAW_URI")
    if raw:
        parsed = urlparse(full_url)
        self._signed_uri = f"{parsed.scheme}://{parsed.netloc}{raw}"


def check(self, *args, **kwargs):
    signed = getattr(self, "_signed_uri", None)
    if not signed:
        return original_check(self, *args, **kwargs)
    decoded, self.uri = self.uri, signed
    try:
        return original_check(self, *args, **kwargs)
    finally:
        self.uri = decoded


BaseResponse.setup_class = setup_class
ActionAuthenticatorMixin._authenticate_and_authorize_action = check
main(sys.argv[1:])

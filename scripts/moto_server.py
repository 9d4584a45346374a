#!/usr/bin/env python3
"""moto's server, with its SigV4 check given the request target as sent.

moto (5.x) rebuilds the request it verifies from the decoded URL, so a signed query value
holding a reserved character (`prefix=nightly%2F`) is verified as `prefix=nightly/` and
refused with SignatureDoesNotMatch — botocore's own requests included. AWS verifies what was
sent; so does this wrapper, which hands moto's verifier the raw request target (RAW_URI).

moto also stores a PUT's body without checking it against the digests the request declares;
S3 refuses a body whose Content-MD5 or x-amz-checksum-sha256 differs (400 BadDigest) or whose
SHA-256 is not the signed x-amz-content-sha256 (400 XAmzContentSHA256Mismatch). This wrapper
does the same, so that bytes damaged in transit are refused by the server, as they would be."""
import base64
import hashlib
import sys
from urllib.parse import urlparse

from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.responses import BaseResponse
from moto.s3.exceptions import S3ClientError
from moto.s3.responses import S3Response
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


class BadDigest(S3ClientError):
    code = "BadDigest"

    def __init__(self, message):
        super().__init__("BadDigest", message)


class XAmzContentSHA256Mismatch(S3ClientError):
    code = "XAmzContentSHA256Mismatch"

    def __init__(self, message):
        super().__init__("XAmzContentSHA256Mismatch", message)


original_put = S3Response._key_response_put


def checked_put(self, query, key_name):
    body = self.body if isinstance(self.body, bytes) else (self.body or b"")
    headers = {k.lower(): v for k, v in self.headers.items()}
    declared = headers.get("x-amz-content-sha256", "")
    if len(declared) == 64 and hashlib.sha256(body).hexdigest() != declared:
        raise XAmzContentSHA256Mismatch("The provided 'x-amz-content-sha256' header does not match what was computed.")
    if "content-md5" in headers and base64.b64encode(hashlib.md5(body).digest()).decode() != headers["content-md5"]:
        raise BadDigest("The Content-MD5 you specified did not match what we received.")
    if "x-amz-checksum-sha256" in headers and base64.b64encode(hashlib.sha256(body).digest()).decode() != headers["x-amz-checksum-sha256"]:
        raise BadDigest("The SHA256 you specified did not match the calculated checksum.")
    return original_put(self, query, key_name)


S3Response._key_response_put = checked_put
BaseResponse.setup_class = setup_class
ActionAuthenticatorMixin._authenticate_and_authorize_action = check
main(sys.argv[1:])

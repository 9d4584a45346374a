#!/usr/bin/env python3
"""A local stand-in for a credential source, handing out real temporary credentials of the test
S3 server: the ECS/EKS container endpoint, the EC2 instance metadata service (IMDSv2), or STS's
AssumeRoleWithWebIdentity.

  credential_server.py container|imds|sts ENDPOINT AKID SECRET ROLE_ARN LOG [TOKEN]

Each hand-out calls STS AssumeRole on ENDPOINT (signed with AKID/SECRET) and answers with those
credentials, their expiration set LIFETIME seconds ahead (env PGSEAL_TEST_LIFETIME, default
303: just past pgseal's 300 s renewal margin, so that a client must renew after about 3 s).
Every hand-out appends "ACCESS_KEY_ID HANDED_OUT_EPOCH PROOF" to LOG, where PROOF is what the
client proved itself with (the web identity token, the container token, the IMDS session
token), so that a test can see renewals, count fetches, and see a rotated token re-read. The
fault proxy reads the same LOG to refuse credentials that should have been renewed.
Prints its port."""
import datetime
import http.server
import json
import os
import sys
import time
import urllib.parse

import boto3

mode, endpoint, akid, secret, role_arn, log = sys.argv[1:7]
token = sys.argv[7] if len(sys.argv) > 7 else None
lifetime = int(os.environ.get("PGSEAL_TEST_LIFETIME", "303"))
sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id=akid, aws_secret_access_key=secret)
imds_tokens = set()


def credentials(proof):
    c = sts.assume_role(RoleArn=role_arn, RoleSessionName="pgseal-test")["Credentials"]
    with open(log, "a") as f:
        f.write(f"{c['AccessKeyId']} {time.time():.3f} {proof}\n")
    expiration = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=lifetime)
    return {"AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"], "Token": c["SessionToken"],
            "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"), "Code": "Success", "Type": "AWS-HMAC"}


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body, content_type="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        if mode == "imds" and self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            session = f"imds-session-{len(imds_tokens) + 1}"
            imds_tokens.add(session)
            return self.answer(200, session, "text/plain")
        self.answer(400, "bad request", "text/plain")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        if mode != "sts" or form.get("Action") != ["AssumeRoleWithWebIdentity"] or not form.get("WebIdentityToken"):
            return self.answer(400, "<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>", "text/xml")
        c = credentials(form["WebIdentityToken"][0])
        xml = ("<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
               f"<AccessKeyId>{c['AccessKeyId']}</AccessKeyId><SecretAccessKey>{c['SecretAccessKey']}</SecretAccessKey>"
               f"<SessionToken>{c['Token']}</SessionToken><Expiration>{c['Expiration']}</Expiration>"
               "</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>")
        self.answer(200, xml, "text/xml")

    def do_GET(self):
        if mode == "container":
            if token and self.headers.get("Authorization") != token:
                return self.answer(401, '{"message": "bad authorization token"}')
            return self.answer(200, json.dumps(credentials(self.headers.get("Authorization", "-"))))
        if mode != "imds" or self.headers.get("X-aws-ec2-metadata-token") not in imds_tokens:
            return self.answer(401, "", "text/plain")
        if self.path == "/latest/meta-data/iam/security-credentials/":
            return self.answer(200, "pgseal-instance-role", "text/plain")
        if self.path == "/latest/meta-data/iam/security-credentials/pgseal-instance-role":
            return self.answer(200, json.dumps(credentials(self.headers["X-aws-ec2-metadata-token"])))
        self.answer(404, "", "text/plain")


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()

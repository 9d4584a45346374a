#!/usr/bin/env python3
"""An S3 endpoint on loopback that answers listings as a broken or hostile server would.

Prints its port. MODE is one of:
  endless    every ListObjectsV2 page says IsTruncated=true with the same continuation token;
  fresh      every page is truncated with a new token and no entries (an endless walk);
  wide       one page of COUNT entries with long keys (a few MB of XML), not truncated;
  badsize    one entry whose Size is not a number;
  outside    one entry whose Key lies outside the prefix asked for;
  doctype    a page that declares a document type with nested entities (billion laughs);
  overflow   two parts of one partitioned archive whose sizes add past 2^63;
  skewed     its clock is two hours ahead: a request signed more than 15 minutes away from it
             gets 403 RequestTimeTooSkewed with its Date, as S3 answers; then an empty listing;
  skewed-far as skewed, but its Date header is ten years ahead.
Every other request gets an empty ListMultipartUploads answer or 404. Each request is counted in
COUNTFILE (one line per request), so a test can see that the client stopped.
"""
import email.utils
import http.server
import sys
import time
import urllib.parse

mode, count, countfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
served = [0]


def page(contents, truncated, token=""):
    body = ['<?xml version="1.0" encoding="UTF-8"?>',
            '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>']
    for key, size in contents:
        body.append("<Contents><Key>%s</Key><Size>%s</Size><ETag>&quot;x&quot;</ETag></Contents>" % (key, size))
    body.append("<IsTruncated>%s</IsTruncated>" % ("true" if truncated else "false"))
    if token:
        body.append("<NextContinuationToken>%s</NextContinuationToken>" % token)
    body.append("</ListBucketResult>")
    return "".join(body).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def skewed(self):
        ahead = 2 * 3600 if mode == "skewed" else 10 * 365 * 86400
        now = time.time() + ahead
        signed = self.headers.get("x-amz-date", "")
        try:
            at = time.mktime(time.strptime(signed, "%Y%m%dT%H%M%SZ")) - time.timezone
        except ValueError:
            at = 0
        if abs(at - now) <= 900:
            return False
        body = b"<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request time and the current time is too large.</Message></Error>"
        self.send_response(403)
        self.send_header("Date", email.utils.formatdate(now, usegmt=True))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return True

    def do_GET(self):
        with open(countfile, "a") as f:
            f.write("%s\n" % self.path[:200])
        if mode.startswith("skewed") and self.skewed():
            return
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query, keep_blank_values=True)
        if "uploads" in query:
            return self.answer(200, b'<?xml version="1.0"?><ListMultipartUploadsResult><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>')
        if query.get("list-type") != ["2"]:
            return self.answer(404, b"<Error><Code>NoSuchKey</Code><Message>none</Message></Error>")
        prefix = query.get("prefix", [""])[0]
        served[0] += 1
        if mode == "endless":
            return self.answer(200, page([(prefix + "p/p-20261201T000000Z.tar.zst", 10)], True, "same-token"))
        if mode == "fresh":
            return self.answer(200, page([], True, "token-%d" % served[0]))
        if mode == "wide":
            return self.answer(200, page([(prefix + "p/" + ("k%07d-" % i) + "x" * 200, i) for i in range(count)], False))
        if mode == "badsize":
            return self.answer(200, page([(prefix + "p/p-20261201T000000Z.tar.zst", "12; DROP")], False))
        if mode == "outside":
            return self.answer(200, page([("elsewhere/secret.tar.zst", 10)], False))
        if mode == "doctype":
            laughs = ('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                      '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
                      '<ListBucketResult><Contents><Key>&d;&d;&d;&d;</Key><Size>1</Size></Contents><IsTruncated>false</IsTruncated></ListBucketResult>')
            return self.answer(200, laughs.encode())
        if mode.startswith("skewed"):
            return self.answer(200, page([], False))
        if mode == "overflow":
            big = 2 ** 63 - 1
            return self.answer(200, page([(prefix + "p/p-20261201T000000Z.part-0001-of-0002.tar.zst", big),
                                          (prefix + "p/p-20261201T000000Z.part-0002-of-0002.tar.zst", big)], False))
        return self.answer(500, b"")

    def do_HEAD(self):
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()

"""A minimal HTTPS SCIM endpoint for tests/integration/proxy_tls.rs: answers every GET with an empty
ListResponse when the bearer token is right, else 401.

Usage: python3 https_upstream.py PORT CERT KEY TOKEN
"""

import http.server
import json
import ssl
import sys

port, cert, key, token = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        ok = self.headers.get("Authorization") == f"Bearer {token}"
        body = json.dumps(
            {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0,
             "startIndex": 1, "itemsPerPage": 0, "Resources": [], "servedOverTls": True}
            if ok else {"detail": "wrong token"}
        ).encode()
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/scim+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print("ready", flush=True)
server.serve_forever()

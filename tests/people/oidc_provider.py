"""A small OpenID Connect provider on 127.0.0.1 for the tests: discovery, JWKS, authorize, token and
userinfo endpoints, with RS256 ID tokens signed by a key made at start. `tamper` makes the next
tokens wrong in one way (another signing key, audience, expiry, nonce) to test the refusals."""
import base64
import hashlib
import html
import http.server
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

CLIENT_ID = "readiness-tests"
CLIENT_SECRET = "s3cret-of-the-tests"


@dataclass
class Provider:
    issuer: str = ""
    key: object = field(default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048))
    kid: str = "test-key-1"
    claims: dict = field(default_factory=dict)  # who signs in next (sub, email, groups, ...)
    tamper: str = ""  # "", "signature", "audience", "expired", "nonce", "issuer"
    interactive: bool = False  # authorize shows a page with a button (the browser test) instead of redirecting
    codes: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)
    token_requests: list = field(default_factory=list)

    def sign_in_as(self, sub: str, *, groups=(), email=None, name=("", ""), username=None, **extra) -> None:
        self.claims = {"sub": sub, "email": email or f"{sub}@corp.example", "email_verified": True,
                       "preferred_username": username or sub, "given_name": name[0], "family_name": name[1],
                       "groups": list(groups), **extra}

    def id_token(self, nonce: str) -> str:
        now = int(time.time())
        payload = {"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300, "nonce": nonce,
                   **self.claims}
        key = self.key
        if self.tamper == "signature":
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif self.tamper == "audience":
            payload["aud"] = "some-other-client"
        elif self.tamper == "expired":
            payload["iat"], payload["exp"] = now - 3600, now - 1800
        elif self.tamper == "nonce":
            payload["nonce"] = "not-the-nonce-we-were-sent"
        elif self.tamper == "issuer":
            payload["iss"] = "http://127.0.0.1:1/evil"
        return jwt.encode(payload, key, algorithm="RS256", headers={"kid": self.kid})

    def jwks(self) -> dict:
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]}


def start_provider() -> tuple[Provider, http.server.ThreadingHTTPServer]:
    provider = Provider()

    class Handler(http.server.BaseHTTPRequestHandler):
        def _json(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _redirect_back(self, params):
            code = secrets.token_urlsafe(16)
            provider.codes[code] = {"nonce": params.get("nonce", ""), "redirect_uri": params["redirect_uri"],
                                    "challenge": params.get("code_challenge", ""), "claims": dict(provider.claims)}
            self.send_response(302)
            self.send_header("Location", params["redirect_uri"] + "?" + urlencode({"code": code,
                                                                                  "state": params["state"]}))
            self.end_headers()

        def do_GET(self):
            url = urlsplit(self.path)
            params = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/.well-known/openid-configuration":
                base = provider.issuer
                return self._json(200, {
                    "issuer": base, "authorization_endpoint": f"{base}/authorize", "token_endpoint": f"{base}/token",
                    "userinfo_endpoint": f"{base}/userinfo", "jwks_uri": f"{base}/jwks",
                    "response_types_supported": ["code"], "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"]})
            if url.path == "/jwks":
                return self._json(200, provider.jwks())
            if url.path == "/authorize":
                if params.get("client_id") != CLIENT_ID or params.get("response_type") != "code":
                    return self._json(400, {"error": "invalid_request"})
                if provider.interactive:
                    page = (f"<!doctype html><title>Corp sign-in</title><h1>Corp identity</h1>"
                            f"<form method=post action='/authorize?{html.escape(url.query)}'>"
                            f"<button type=submit>Continue as {html.escape(provider.claims['preferred_username'])}"
                            f"</button></form>").encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.end_headers()
                    return self.wfile.write(page)
                return self._redirect_back(params)
            if url.path == "/userinfo":
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                if token not in provider.tokens:
                    return self._json(401, {"error": "invalid_token"})
                return self._json(200, provider.tokens[token])
            return self._json(404, {"error": "not found"})

        def do_POST(self):
            url = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            form = {k: v[0] for k, v in parse_qs(body).items()}
            if url.path == "/authorize":
                return self._redirect_back({k: v[0] for k, v in parse_qs(url.query).items()})
            if url.path != "/token":
                return self._json(404, {"error": "not found"})
            provider.token_requests.append(form)
            grant = provider.codes.pop(form.get("code", ""), None)
            if (form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET or grant is None
                    or form.get("redirect_uri") != grant["redirect_uri"]):
                return self._json(400, {"error": "invalid_grant"})
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if grant["challenge"] and challenge != grant["challenge"]:
                return self._json(400, {"error": "invalid_grant", "error_description": "PKCE"})
            access = secrets.token_urlsafe(16)
            provider.tokens[access] = grant["claims"]
            saved, provider.claims = provider.claims, grant["claims"]
            id_token = provider.id_token(grant["nonce"])
            provider.claims = saved
            return self._json(200, {"access_token": access, "token_type": "Bearer", "expires_in": 300,
                                    "id_token": id_token})

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    provider.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    return provider, server

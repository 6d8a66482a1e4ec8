#!/usr/bin/env python3
"""Checks, with PyJWT (a JOSE library that is not ours), that a running Gatehouse's access
tokens verify against its published JWKS: the key found by `kid`, the signature, `iss`, `aud`
and `exp`; and that a token whose payload was changed does not.

    scripts/jwks_interop.py http://127.0.0.1:8000 admin@example.com 'password'
"""
import base64
import json
import sys
import urllib.request

import jwt


def post(url, body):
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def main():
    base, email, password = sys.argv[1], sys.argv[2], sys.argv[3]
    access = post(f"{base}/api/v1/auth/login", {"email": email, "password": password})["access_token"]
    jwks = jwt.PyJWKClient(f"{base}/.well-known/jwks.json")
    key = jwks.get_signing_key_from_jwt(access)
    algorithm = jwt.get_unverified_header(access)["alg"]
    claims = jwt.decode(access, key.key, algorithms=[algorithm], issuer=base, audience="gatehouse")
    assert claims["typ"] == "access" and claims["amr"] == ["pwd"], claims
    assert claims["role"] == "admin", claims

    header, payload, signature = access.split(".")
    changed = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    changed["role"] = "user"
    forged = ".".join(
        [header, base64.urlsafe_b64encode(json.dumps(changed).encode()).rstrip(b"=").decode(), signature]
    )
    try:
        jwt.decode(forged, key.key, algorithms=[algorithm], issuer=base, audience="gatehouse")
    except jwt.InvalidSignatureError:
        pass
    else:
        sys.exit("a token with a changed payload verified")
    print(f"PyJWT {jwt.__version__} verified a {algorithm} access token against the JWKS (kid {key.key_id})")


if __name__ == "__main__":
    main()

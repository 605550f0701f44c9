"""A function verifying RS256 and ES256 JWTs against a JWKS document, deployed to a real server.

The keys are made here with `cryptography` and the tokens minted with PyJWT, as an identity provider
would (sent in a header of their own: the server reads Authorization itself). The function imports
the JWKS keys with crypto.subtle.importKey('jwk') and checks each token with crypto.subtle.verify,
caching the imported keys by kid across calls.
"""

from __future__ import annotations

import base64
import json

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from .test_invoke import deploy

VERIFIER = """
const JWKS = %s;
const ALGORITHMS = {
  RS256: { imported: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, verify: 'RSASSA-PKCS1-v1_5' },
  ES256: { imported: { name: 'ECDSA', namedCurve: 'P-256' }, verify: { name: 'ECDSA', hash: 'SHA-256' } },
};
const keys = new Map();
const fromB64url = (text) => Uint8Array.fromBase64(text, { alphabet: 'base64url' });
const json = (bytes) => JSON.parse(new TextDecoder().decode(bytes));

function keyFor(kid, alg) {
  const id = alg + ' ' + kid;
  if (!keys.has(id)) {
    const jwk = JWKS.keys.find((k) => k.kid === kid);
    if (jwk === undefined) throw new Error('no key ' + kid);
    keys.set(id, crypto.subtle.importKey('jwk', jwk, ALGORITHMS[alg].imported, false, ['verify']));
  }
  return keys.get(id);
}

async function verifyJwt(token) {
  const [head, body, signature] = token.split('.');
  const header = json(fromB64url(head));
  const algorithm = ALGORITHMS[header.alg];
  if (algorithm === undefined) throw new Error('unsupported alg ' + header.alg);
  const key = await keyFor(header.kid, header.alg);
  const valid = await crypto.subtle.verify(algorithm.verify, key, fromB64url(signature),
    new TextEncoder().encode(head + '.' + body));
  return valid ? json(fromB64url(body)) : null;
}

async function handler(req) {
  const token = req.headers['x-id-token'] || '';
  try {
    const claims = await verifyJwt(token);
    if (claims === null) return { status: 401, body: JSON.stringify({ error: 'bad signature' }) };
    return { status: 200, body: JSON.stringify({ sub: claims.sub, keys: keys.size }) };
  } catch (error) {
    return { status: 401, body: JSON.stringify({ error: String(error) }) };
  }
}
"""


def _b64url_int(value: int, size: int = 0) -> str:
    data = value.to_bytes(max(size, (value.bit_length() + 7) // 8), "big")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwks(rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey) -> dict[str, object]:
    rsa_public = rsa_key.public_key().public_numbers()
    ec_public = ec_key.public_key().public_numbers()
    return {
        "keys": [
            {"kty": "RSA", "kid": "rsa-1", "use": "sig", "alg": "RS256",
             "n": _b64url_int(rsa_public.n), "e": _b64url_int(rsa_public.e)},
            {"kty": "EC", "kid": "ec-1", "use": "sig", "alg": "ES256", "crv": "P-256",
             "x": _b64url_int(ec_public.x, 32), "y": _b64url_int(ec_public.y, 32)},
        ]
    }  # fmt: skip


def test_rs256_and_es256_tokens_are_verified_with_keys_from_a_jwks(
    admin: httpx.Client, anonymous: httpx.Client, fname: str
) -> None:
    rsa_key = rsa.generate_private_key(65537, 2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    deploy(admin, fname, VERIFIER % json.dumps(_jwks(rsa_key, ec_key)))
    url = f"/api/v1/functions/{fname}/invoke"

    def call(token: str) -> httpx.Response:
        return anonymous.post(url, headers={"X-Id-Token": token})

    rs256 = jwt.encode({"sub": "alice"}, rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})
    es256 = jwt.encode({"sub": "bob"}, ec_key, algorithm="ES256", headers={"kid": "ec-1"})
    first, second, again = call(rs256), call(es256), call(rs256)
    assert first.status_code == 200, first.text
    assert first.json()["sub"] == "alice", first.text
    assert (second.status_code, second.json()["sub"]) == (200, "bob"), second.text
    assert again.status_code == 200
    # Keys imported by earlier calls are reused: the isolate is warm.
    assert again.json()["keys"] == 2

    head, _, signature = rs256.split(".")
    forged_claims = base64.urlsafe_b64encode(b'{"sub":"mallory"}').rstrip(b"=").decode()
    assert call(f"{head}.{forged_claims}.{signature}").status_code == 401
    other_rsa = rsa.generate_private_key(65537, 2048)
    other_ec = ec.generate_private_key(ec.SECP256R1())
    wrong_rsa = jwt.encode({"sub": "eve"}, other_rsa, algorithm="RS256", headers={"kid": "rsa-1"})
    wrong_ec = jwt.encode({"sub": "eve"}, other_ec, algorithm="ES256", headers={"kid": "ec-1"})
    assert call(wrong_rsa).json() == {"error": "bad signature"}
    assert call(wrong_ec).json() == {"error": "bad signature"}
    unknown = jwt.encode({"sub": "eve"}, rsa_key, algorithm="RS256", headers={"kid": "rsa-2"})
    assert call(unknown).json() == {"error": "Error: no key rsa-2"}

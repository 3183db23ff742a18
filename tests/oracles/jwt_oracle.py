#!/usr/bin/python3
"""JWT oracle: keys and JWS compact tokens made with python3-cryptography, independently of
Sirr's code, for the JWT bearer tests.

  jwt_oracle.py keys DIR
      Writes private keys DIR/{rsa,rsa2,ec,ed}.key and DIR/public.pem, a bundle of the public
      keys of rsa, ec and ed ("# kid: <name>" before each block except ed, so that ed is named
      only by its fingerprint). rsa2 is NOT in the bundle (a "wrong key"). Prints JSON
      {"fingerprints": {name: OpenSSH MD5 fingerprint}}.
  jwt_oracle.py sign DIR KEY ALG CLAIMS_JSON [KID]
      Prints a token signed by DIR/KEY.key with ALG (RS256/384/512, ES256, EdDSA); KID "-"
      leaves the kid out.
  jwt_oracle.py none CLAIMS_JSON
      Prints an alg "none" token with an empty signature.
  jwt_oracle.py hs256 DIR CLAIMS_JSON
      Prints an HS256 token whose HMAC key is the bytes of DIR/public.pem (the classic
      algorithm-confusion attack).
"""
import base64
import hashlib
import hmac
import json
import os
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def load(d, name):
    with open(os.path.join(d, name + ".key"), "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def public_pem(key):
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def ssh_md5(key):
    blob = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).split()[1]
    digest = hashlib.md5(base64.b64decode(blob)).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def keys(d):
    made = {
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "rsa2": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ec": ec.generate_private_key(ec.SECP256R1()),
        "ed": ed25519.Ed25519PrivateKey.generate(),
    }
    for name, key in made.items():
        path = os.path.join(d, name + ".key")
        with open(path, "wb") as f:
            f.write(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
    with open(os.path.join(d, "public.pem"), "w") as f:
        f.write("# kid: rsa\n" + public_pem(made["rsa"]))
        f.write("\n# kid: ec\n" + public_pem(made["ec"]))
        f.write("\n" + public_pem(made["ed"]))
    print(json.dumps({"fingerprints": {n: ssh_md5(k) for n, k in made.items()}}))


def sign(d, name, alg, claims, kid):
    key = load(d, name)
    header = {"alg": alg, "typ": "JWT"}
    if kid != "-":
        header["kid"] = kid
    signing_input = (
        b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    ).encode()
    if alg.startswith("RS"):
        h = {"RS256": hashes.SHA256(), "RS384": hashes.SHA384(), "RS512": hashes.SHA512()}[alg]
        sig = key.sign(signing_input, padding.PKCS1v15(), h)
    elif alg == "ES256":
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    elif alg == "EdDSA":
        sig = key.sign(signing_input)
    else:
        raise SystemExit("unknown alg " + alg)
    print(signing_input.decode() + "." + b64url(sig))


def none(claims):
    header = {"alg": "none", "typ": "JWT"}
    print(b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode()) + ".")


def hs256(d, claims):
    with open(os.path.join(d, "public.pem"), "rb") as f:
        secret = f.read()
    header = {"alg": "HS256", "typ": "JWT"}
    signing_input = (
        b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    ).encode()
    print(signing_input.decode() + "." + b64url(hmac.new(secret, signing_input, "sha256").digest()))


def main():
    cmd = sys.argv[1]
    if cmd == "keys":
        keys(sys.argv[2])
    elif cmd == "sign":
        sign(sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5]),
             sys.argv[6] if len(sys.argv) > 6 else "-")
    elif cmd == "none":
        none(json.loads(sys.argv[2]))
    elif cmd == "hs256":
        hs256(sys.argv[2], json.loads(sys.argv[3]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()

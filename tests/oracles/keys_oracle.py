#!/usr/bin/python3
"""Oracle: python3-cryptography (Debian) for Sirr's key operations.

Reads JSON on stdin, writes JSON on stdout. Modes:
  verify        [{spec, public_key, message, signature, algorithm?}] -> [bool]
  sign          (ignored)  -> [{spec, public_key, message, signature, algorithm?}], fresh keys
  x25519-keypair           -> {private, public}
  aead-decrypt  {x25519_private, peer_public, spec, data, aad}      -> {plaintext}
  aead-encrypt  {x25519_private, peer_public, spec, plaintext, aad} -> {data}
  rsa-encrypt   {public_key (PEM), plaintext}                       -> {data}
  rsa-decrypt   {private_key (0x + PKCS#8 DER hex), data}           -> {plaintext}
Keys derived by X25519 follow docs/keys.md: HKDF-SHA256(shared, salt empty,
info "sirr/v1/x25519", 32). Hex is accepted with or without 0x. Text is UTF-8.
"""
import json
import os
import sys

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, x25519
from cryptography.hazmat.primitives.asymmetric.utils import (Prehashed, decode_dss_signature,
                                                             encode_dss_signature)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


def unhex(h):
    return bytes.fromhex(h[2:] if h.startswith("0x") else h)


def rsa_padding(alg, h):
    if alg.startswith("PS"):
        return padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size)
    return padding.PKCS1v15()


def verify(item):
    spec, msg, sig = item["spec"].lower(), unhex(item["message"]), unhex(item["signature"])
    try:
        if spec == "ed25519":
            ed25519.Ed25519PublicKey.from_public_bytes(unhex(item["public_key"])).verify(sig, msg)
        elif spec in ("p-256", "secp256k1"):
            curve = ec.SECP256R1() if spec == "p-256" else ec.SECP256K1()
            pub = ec.EllipticCurvePublicKey.from_encoded_point(curve, unhex(item["public_key"]))
            if len(sig) not in (64, 65):
                return False
            der = encode_dss_signature(int.from_bytes(sig[:32], "big"),
                                       int.from_bytes(sig[32:64], "big"))
            if spec == "p-256":
                pub.verify(der, msg, ec.ECDSA(hashes.SHA256()))
            else:  # the message is the digest
                pub.verify(der, msg, ec.ECDSA(Prehashed(hashes.SHA256())))
        elif spec.startswith("rsa"):
            pub = serialization.load_pem_public_key(item["public_key"].encode())
            h = HASHES[item["algorithm"][2:]]()
            pub.verify(sig, msg, rsa_padding(item["algorithm"], h), h)
        else:
            raise ValueError("unknown spec " + spec)
        return True
    except InvalidSignature:
        return False


def sign(_):
    out = []
    msg = os.urandom(48)
    digest = os.urandom(32)
    k = ed25519.Ed25519PrivateKey.generate()
    out.append({"spec": "Ed25519", "message": msg.hex(), "signature": k.sign(msg).hex(),
                "public_key": "0x" + k.public_key().public_bytes(
                    serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()})
    for spec, curve, data, alg in (("P-256", ec.SECP256R1(), msg, ec.ECDSA(hashes.SHA256())),
                                   ("secp256k1", ec.SECP256K1(), digest,
                                    ec.ECDSA(Prehashed(hashes.SHA256())))):
        k = ec.generate_private_key(curve)
        r, s = decode_dss_signature(k.sign(data, alg))
        pub = k.public_key().public_bytes(serialization.Encoding.X962,
                                          serialization.PublicFormat.UncompressedPoint)
        out.append({"spec": spec, "message": data.hex(),
                    "signature": (r.to_bytes(32, "big") + s.to_bytes(32, "big")).hex(),
                    "public_key": "0x" + pub.hex()})
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = k.public_key().public_bytes(serialization.Encoding.PEM,
                                      serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    for alg in ("PS256", "PS384", "PS512", "RS256", "RS384", "RS512"):
        h = HASHES[alg[2:]]()
        out.append({"spec": "RSA-2048", "message": msg.hex(), "algorithm": alg,
                    "signature": k.sign(msg, rsa_padding(alg, h), h).hex(), "public_key": pem})
    return out


def derived_aead(req):
    priv = x25519.X25519PrivateKey.from_private_bytes(unhex(req["x25519_private"]))
    shared = priv.exchange(x25519.X25519PublicKey.from_public_bytes(unhex(req["peer_public"])))
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"sirr/v1/x25519").derive(
        shared)
    return AESGCM(key) if req["spec"].lower() == "aes-256-gcm" else ChaCha20Poly1305(key)


def main():
    mode = sys.argv[1]
    req = json.load(sys.stdin)
    if mode == "verify":
        res = [verify(i) for i in req]
    elif mode == "sign":
        res = sign(req)
    elif mode == "x25519-keypair":
        k = x25519.X25519PrivateKey.generate()
        raw = serialization.Encoding.Raw
        res = {"private": k.private_bytes(raw, serialization.PrivateFormat.Raw,
                                          serialization.NoEncryption()).hex(),
               "public": k.public_key().public_bytes(raw, serialization.PublicFormat.Raw).hex()}
    elif mode == "aead-decrypt":
        data = unhex(req["data"])
        try:
            pt = derived_aead(req).decrypt(data[:12], data[12:], req["aad"].encode())
            res = {"plaintext": pt.decode()}
        except InvalidTag:
            res = {"error": "decryption failed"}
    elif mode == "aead-encrypt":
        nonce = os.urandom(12)
        ct = derived_aead(req).encrypt(nonce, req["plaintext"].encode(), req["aad"].encode())
        res = {"data": (nonce + ct).hex()}
    elif mode == "rsa-encrypt":
        pub = serialization.load_pem_public_key(req["public_key"].encode())
        oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(),
                            label=None)
        res = {"data": pub.encrypt(req["plaintext"].encode(), oaep).hex()}
    elif mode == "rsa-decrypt":
        priv = serialization.load_der_private_key(unhex(req["private_key"]), password=None)
        oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(),
                            label=None)
        res = {"plaintext": priv.decrypt(unhex(req["data"]), oaep).hex()}
    else:
        raise SystemExit("unknown mode " + mode)
    json.dump(res, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

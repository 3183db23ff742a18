#!/usr/bin/python3
"""Independent re-implementation of Sirr's envelope v1 and key derivations with
python3-cryptography (Debian), used by crypto/envelope_test.cc to check our C++ both ways.

  envelope_oracle.py seal KEYHEX AAD PLAINHEX   -> envelope hex (key id derived from the key)
  envelope_oracle.py open KEYHEX AAD ENVHEX     -> plaintext hex, exit 1 on failure
  envelope_oracle.py keyid KEYHEX               -> 8-byte key id hex
  envelope_oracle.py hkdf KEYHEX INFO LEN       -> HKDF-SHA256 (empty salt) hex
"""
import os
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def hkdf(key, info, n):
    return HKDF(hashes.SHA256(), n, None, info.encode()).derive(key)


def main(argv):
    cmd = argv[1]
    if cmd == "keyid":
        print(hkdf(bytes.fromhex(argv[2]), "sirr/v1/key-id", 8).hex())
    elif cmd == "hkdf":
        print(hkdf(bytes.fromhex(argv[2]), argv[3], int(argv[4])).hex())
    elif cmd == "seal":
        key, aad, pt = bytes.fromhex(argv[2]), argv[3].encode(), bytes.fromhex(argv[4])
        nonce = os.urandom(12)
        env = b"\x01" + hkdf(key, "sirr/v1/key-id", 8) + nonce + AESGCM(key).encrypt(nonce, pt, aad)
        print(env.hex())
    elif cmd == "open":
        key, aad, env = bytes.fromhex(argv[2]), argv[3].encode(), bytes.fromhex(argv[4])
        if len(env) < 37 or env[0] != 1 or env[1:9] != hkdf(key, "sirr/v1/key-id", 8):
            return 1
        try:
            print(AESGCM(key).decrypt(env[9:21], env[21:], aad).hex())
        except Exception:
            return 1
    else:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

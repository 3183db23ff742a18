#!/usr/bin/python3
"""Independent check of Sirr's PKCS#11 wrapped-key file (docs/formats.md) with PyKCS11.

Reads SIRR_PKCS11_* like sirrd, asks the token to AES-256-GCM-decrypt the file's ciphertext with
the labelled key, and prints the key's attributes and the unwrapped key as hex, so the test can
compare it with the key file that was wrapped.

needs: python3-pykcs11 (Debian's /usr/bin/python3), SOFTHSM2_CONF for SoftHSM2
"""
import base64
import os
import sys

import PyKCS11

PREFIX = "sirr-pkcs11-wrapped-key-v1:"


def main():
    env = os.environ
    line = open(env["SIRR_PKCS11_WRAPPED_KEY_FILE"]).read().strip()
    assert line.startswith(PREFIX), "missing prefix"
    blob = base64.b64decode(line[len(PREFIX):])
    assert len(blob) == 61 and blob[0] == 1, "bad length or version"
    nonce, sealed = blob[1:13], blob[13:]
    label = env["SIRR_PKCS11_KEY_LABEL"]
    aad = ("sirr/v1/pkcs11-master-key/" + label).encode()

    lib = PyKCS11.PyKCS11Lib()
    lib.load(env["SIRR_PKCS11_MODULE"])
    slot = next(s for s in lib.getSlotList(tokenPresent=True)
                if lib.getTokenInfo(s).label.strip() == env["SIRR_PKCS11_TOKEN_LABEL"])
    sess = lib.openSession(slot, PyKCS11.CKF_SERIAL_SESSION)
    sess.login(open(env["SIRR_PKCS11_PIN_FILE"]).read().strip())
    keys = sess.findObjects([(PyKCS11.CKA_CLASS, PyKCS11.CKO_SECRET_KEY),
                             (PyKCS11.CKA_LABEL, label)])
    assert len(keys) == 1, "expected one key"
    attrs = sess.getAttributeValue(keys[0], [PyKCS11.CKA_EXTRACTABLE, PyKCS11.CKA_SENSITIVE,
                                             PyKCS11.CKA_TOKEN, PyKCS11.CKA_VALUE_LEN])
    print("extractable=%s sensitive=%s token=%s value_len=%d" %
          (bool(attrs[0]), bool(attrs[1]), bool(attrs[2]), attrs[3]))
    plain = bytes(sess.decrypt(keys[0], sealed, PyKCS11.AES_GCM_Mechanism(nonce, aad, 128)))
    print("key=" + plain.hex())
    sess.logout()
    return 0


if __name__ == "__main__":
    sys.exit(main())

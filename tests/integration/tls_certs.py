#!/usr/bin/python3
"""Writes the certificates the TLS tests use into DIR (python3-cryptography, independent of
the OpenSSL calls sirrd makes):

  root.pem                 a root CA the clients trust
  server.pem, server.key   leaf (localhost, 127.0.0.1) + its intermediate CA: a chain
  other-root.pem           another root CA
  other.pem, other.key     a leaf signed by other-root (the reload test switches to it)
  expired.pem, expired.key a leaf that expired yesterday
  client-ca.pem            the CA sirrd requires client certificates from (mutual TLS)
  client.pem, client.key   a client certificate from client-ca
  stranger.pem, stranger.key  a client certificate from another CA
"""
import datetime
import ipaddress
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = datetime.datetime.now(datetime.timezone.utc)
DAY = datetime.timedelta(days=1)


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def cert(cn, key, issuer_cn, issuer_key, ca=False, server=False, client=False,
         not_before=NOW - DAY, not_after=NOW + 30 * DAY):
    b = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(name(issuer_cn))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(not_before).not_valid_after(not_after)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if server:
        b = b.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
    if client:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
    return b.sign(issuer_key, hashes.SHA256())


def pem(c):
    return c.public_bytes(serialization.Encoding.PEM)


def key_pem(k):
    return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                           serialization.NoEncryption())


def main(out):
    out = Path(out)
    new = lambda: ec.generate_private_key(ec.SECP256R1())
    root_k, inter_k, leaf_k = new(), new(), new()
    root = cert("Sirr test root", root_k, "Sirr test root", root_k, ca=True)
    inter = cert("Sirr test intermediate", inter_k, "Sirr test root", root_k, ca=True)
    leaf = cert("localhost", leaf_k, "Sirr test intermediate", inter_k, server=True)
    (out / "root.pem").write_bytes(pem(root))
    (out / "server.pem").write_bytes(pem(leaf) + pem(inter))
    (out / "server.key").write_bytes(key_pem(leaf_k))

    other_root_k, other_k = new(), new()
    other_root = cert("Other root", other_root_k, "Other root", other_root_k, ca=True)
    (out / "other-root.pem").write_bytes(pem(other_root))
    (out / "other.pem").write_bytes(pem(cert("localhost", other_k, "Other root", other_root_k,
                                             server=True)))
    (out / "other.key").write_bytes(key_pem(other_k))

    expired_k = new()
    (out / "expired.pem").write_bytes(pem(cert("localhost", expired_k, "Sirr test root", root_k,
                                               server=True, not_before=NOW - 30 * DAY,
                                               not_after=NOW - DAY)))
    (out / "expired.key").write_bytes(key_pem(expired_k))

    cca_k, client_k, stranger_ca_k, stranger_k = new(), new(), new(), new()
    cca = cert("Sirr client CA", cca_k, "Sirr client CA", cca_k, ca=True)
    (out / "client-ca.pem").write_bytes(pem(cca))
    (out / "client.pem").write_bytes(pem(cert("alice", client_k, "Sirr client CA", cca_k,
                                              client=True)))
    (out / "client.key").write_bytes(key_pem(client_k))
    (out / "stranger.pem").write_bytes(pem(cert("mallory", stranger_k, "Stranger CA",
                                                stranger_ca_k, client=True)))
    (out / "stranger.key").write_bytes(key_pem(stranger_k))
    for p in out.glob("*.key"):
        p.chmod(0o600)


if __name__ == "__main__":
    main(sys.argv[1])

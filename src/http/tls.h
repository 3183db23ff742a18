#pragma once

// sirrd's TLS server configuration (OpenSSL 3 through Boost.Asio's ssl::context).
//
// * TLS 1.2 minimum; OpenSSL negotiates 1.3 whenever the client has it. TLS 1.2 suites are
//   ECDHE with AES-GCM or ChaCha20-Poly1305 only (forward secrecy, AEAD); TLS 1.3 suites are
//   OpenSSL's defaults (all AEAD). No renegotiation, no compression.
// * Session resumption: a server-side session cache and session tickets.
// * Mutual TLS when a client CA file is given: a client certificate signed by one of its CAs is
//   required for the handshake to succeed.
// * Every problem with the files is one line naming the variable and the file (never their
//   content): unreadable, not PEM, no certificate, expired or not yet valid, key not matching
//   the certificate, encrypted key, a client CA file without certificates.

#include <openssl/x509.h>

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace sirr::http {

struct TlsFiles {
  std::string cert_file;       // SIRR_TLS_CERT_FILE: PEM, the leaf first, then its chain
  std::string key_file;        // SIRR_TLS_KEY_FILE: PEM, unencrypted
  std::string client_ca_file;  // SIRR_TLS_CLIENT_CA_FILE: optional; PEM CA certificates
};

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

// Every PEM certificate in `path` (at least one; the leaf first in a chain file). Errors name
// `what` (the variable) and the file.
StatusOr<std::vector<X509Ptr>> ReadCertificates(const std::string& what, const std::string& path);

// Builds a server context from the files (read now; later changes need another call).
StatusOr<std::shared_ptr<boost::asio::ssl::context>> MakeTlsServerContext(const TlsFiles& files);

}  // namespace sirr::http

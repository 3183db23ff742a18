#pragma once

// `sirrd health`: one GET /health against a sirrd on this host, for container HEALTHCHECKs
// and scripts that have no HTTP client (debian:12-slim has no curl).
//
// With TLS the probe does not need a CA or a matching host name: it connects to the loopback
// address and accepts exactly the certificate in the server's own SIRR_TLS_CERT_FILE (the
// leaf is compared byte for byte), so a probe can never be answered by an impostor.

#include <cstdint>
#include <string>

#include "base/status.h"

namespace sirr::http {

struct ProbeResult {
  int status = 0;
  std::string body;
};

// `host` may be a wildcard ("0.0.0.0", "::"): the probe then uses the loopback address.
// `tls_cert_file` empty: plain HTTP. Unavailable when nothing answers within `timeout_ms`.
StatusOr<ProbeResult> ProbeHealth(const std::string& host, uint16_t port,
                                  const std::string& tls_cert_file, const std::string& query,
                                  int timeout_ms = 5000);

}  // namespace sirr::http

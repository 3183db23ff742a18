#pragma once

// Helpers the server's parts share (server.cc: RunServer and its wiring; tools.cc: the operator
// tools: audit verify/recover, health, restore, pkcs11 wrap, migrate-storage). Not a public
// interface.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <unistd.h>

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <optional>

#include "api/api.h"
#include "base/secret_bytes.h"
#include "base/status.h"
#include "core/seal_keeper.h"
#include "http/tls.h"
#include "seal/providers.h"
#include "server/server.h"

namespace sirr::server::internal {

// The operator log (stderr; JSON with SIRR_LOG_FORMAT=json).
void Log(std::string_view level, const std::string& message);
// Logs `message` as the one error line and returns exit status 1.
int Fail(const std::string& message);
// "HOST:PORT" ("[v6]:PORT" too).
StatusOr<std::pair<std::string, uint16_t>> SplitAddr(const std::string& addr);

// One sirrd (or tool) per data directory: an flock on DATA_DIR/.sirrd.lock, held while it lives.
struct DirLock {
  int fd = -1;
  DirLock() = default;
  DirLock(DirLock&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  DirLock& operator=(DirLock&& o) noexcept {
    if (this != &o) {
      if (fd >= 0) ::close(fd);
      fd = std::exchange(o.fd, -1);
    }
    return *this;
  }
  ~DirLock() {
    if (fd >= 0) ::close(fd);
  }
};
StatusOr<DirLock> LockDataDir(const std::string& data_dir);
// Creates the data directory (and missing parents) with mode 0700, whatever the umask.
Status CreateDataDir(const std::string& dir);

// What RunServer has checked and loaded before it touches storage: everything that can fail
// on bad configuration fails here, with one line, before any state changes.
struct Startup {
  std::pair<std::string, uint16_t> addr;
  std::shared_ptr<boost::asio::ssl::context> tls;
  core::SealOptions seal_options;
  seal::ProviderConfig provider;
  seal::LoadedKey loaded;
  SecretBytes admin_token;
  std::shared_ptr<const api::JwtVerifier> jwt;
  DirLock lock;
  std::optional<SecretBytes> next_key;
};
StatusOr<Startup> PrepareStartup(const ServerConfig& config);
// The TLS certificate, key and client CA files of the configuration.
http::TlsFiles TlsFilesOf(const ServerConfig& config);

}  // namespace sirr::server::internal

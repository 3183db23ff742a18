// sirrd's start-up checks (server_internal.h): everything RunServer loads and checks from the
// configuration before it touches storage.

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <boost/asio/ip/address.hpp>

#include "api/jwt.h"
#include "seal/master_key.h"
#include "server/server_internal.h"

namespace sirr::server::internal {

http::TlsFiles TlsFilesOf(const ServerConfig& config) {
  return {config.tls_cert_file, config.tls_key_file, config.tls_client_ca_file};
}

StatusOr<SecretBytes> LoadAdminToken(const ServerConfig& c) {
  std::string token;
  if (!c.admin_token_file.empty()) {
    std::ifstream in(c.admin_token_file);
    if (!in) return NotFoundError("admin token file " + c.admin_token_file + " cannot be read");
    struct stat st {};
    if (::stat(c.admin_token_file.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
      Log("warning", "admin token file " + c.admin_token_file +
                         " is readable by group or others (mode " +
                         std::to_string((st.st_mode >> 6) & 7) +
                         std::to_string((st.st_mode >> 3) & 7) + std::to_string(st.st_mode & 7) +
                         "); chmod 0400 it unless a container runtime mounts it so");
    std::getline(in, token);
    while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  } else if (!c.admin_token.empty()) {
    token = c.admin_token;
  } else {
    return FailedPreconditionError(
        "no admin token configured (set SIRR_ADMIN_TOKEN_FILE, or SIRR_ADMIN_TOKEN for "
        "development)");
  }
  // At least 32 characters of random data: 256 bits as base64 or hex easily pass; a word, a
  // date or a repeated character does not.
  const size_t distinct = std::set<char>(token.begin(), token.end()).size();
  if (token.size() < 32 || distinct < 12) {
    SecureWipe(token.data(), token.size());
    return InvalidArgumentError(
        "the admin token is too weak: use at least 32 random characters (for example the "
        "output of 'openssl rand -base64 32')");
  }
  SecretBytes out = SecretBytes::FromString(token);
  SecureWipe(token.data(), token.size());
  return out;
}

// JWT bearer authentication, when SIRR_JWT_PUBLIC_KEY_FILE is set (null otherwise).
StatusOr<std::shared_ptr<const api::JwtVerifier>> LoadJwtVerifier(const ServerConfig& config) {
  if (config.jwt_public_key_file.empty()) {
    if (!config.jwt_issuer.empty() || !config.jwt_audience.empty())
      return InvalidArgumentError(
          "SIRR_JWT_ISSUER/SIRR_JWT_AUDIENCE are set but SIRR_JWT_PUBLIC_KEY_FILE is not");
    return std::shared_ptr<const api::JwtVerifier>();
  }
  api::JwtOptions jwt_options{config.jwt_issuer, config.jwt_audience, config.jwt_leeway_seconds,
                              config.jwt_require_exp};
  SIRR_ASSIGN_OR_RETURN(auto verifier, api::JwtVerifier::FromFile(config.jwt_public_key_file,
                                                                  jwt_options, SystemClock::Get()));
  std::string kinds;
  for (const auto& k : verifier->keys())
    kinds += (kinds.empty() ? "" : ", ") + k->Description() +
             (k->label().empty() ? "" : " (kid " + k->label() + ")");
  Log("info", "JWT bearer authentication enabled with " + std::to_string(verifier->keys().size()) +
                  " key(s): " + kinds);
  return std::shared_ptr<const api::JwtVerifier>(std::move(verifier));
}

StatusOr<core::SealOptions> SealOptionsOf(const ServerConfig& config) {
  core::SealOptions seal_options;
  seal_options.provider = config.provider.provider;
  seal_options.vault_key_cache = static_cast<size_t>(config.vault_key_cache);
  if (!config.validation_hash.empty()) {
    SIRR_ASSIGN_OR_RETURN(seal_options.validation_hash,
                          seal::ParseValidationHash(config.validation_hash));
  }
  return seal_options;
}

// Warns about a key file inside the data directory and creates the directory.
Status PrepareDataDir(const std::string& dir, const std::string& key_file) {
  std::error_code ec;
  auto data_dir = std::filesystem::absolute(dir, ec);
  if (!key_file.empty()) {
    auto key_path = std::filesystem::absolute(key_file, ec);
    if (!ec && key_path.parent_path().string().starts_with(data_dir.string()))
      Log("warning", "key file " + key_file +
                         " is inside the data directory; keep it apart from the database and "
                         "its backups");
  }
  return CreateDataDir(dir);
}

// Leftovers of backups a crash interrupted (call with the data directory locked: ours alone).
void RemoveBackupLeftovers(const std::string& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(".backup-") && name.ends_with(".tmp")) {
      std::error_code rm;
      std::filesystem::remove(entry.path(), rm);
      Log(rm ? "warning" : "info",
          (rm ? "cannot remove " : "removed ") + name + ", left by an interrupted backup");
    }
  }
}

bool IsLoopback(const std::string& host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(host, ec);
  return !ec && a.is_loopback();
}

// The TLS context (null: plain HTTP, on loopback or explicitly allowed).
StatusOr<std::shared_ptr<boost::asio::ssl::context>> TlsOf(const ServerConfig& config,
                                                           const std::string& host) {
  const bool any = !config.tls_cert_file.empty() || !config.tls_key_file.empty() ||
                   !config.tls_client_ca_file.empty();
  if (any && config.tls_disable)
    return InvalidArgumentError("SIRR_TLS_DISABLE=true contradicts the SIRR_TLS_* files given");
  if (any) return http::MakeTlsServerContext(TlsFilesOf(config));
  if (!IsLoopback(host)) {
    if (!config.tls_disable)
      return InvalidArgumentError(
          "refusing to listen on " + host +
          " without TLS: set SIRR_TLS_CERT_FILE and SIRR_TLS_KEY_FILE (docs/deploy.md), or "
          "SIRR_TLS_DISABLE=true when a TLS-terminating proxy is in front");
    Log("warning", "TLS is disabled on a non-loopback address (" + host +
                       "): tokens and secrets cross the network in clear unless a proxy in "
                       "front terminates TLS");
  }
  return std::shared_ptr<boost::asio::ssl::context>();
}

// SIRR_KEY_FILE_NEW (dual-key mode), when set.
StatusOr<std::optional<SecretBytes>> LoadNextKey(const std::string& key_file_new) {
  if (key_file_new.empty()) return std::optional<SecretBytes>();
  auto file = seal::ReadKeyFile(key_file_new);
  if (!file.ok()) return InvalidArgumentError("SIRR_KEY_FILE_NEW: " + file.status().message());
  if (file->permission_warning) Log("warning", *file->permission_warning);
  return std::optional<SecretBytes>(std::move(file->key));
}

StatusOr<Startup> PrepareStartup(const ServerConfig& config) {
  Startup s;
  auto addr = SplitAddr(config.addr);
  if (!addr.ok())
    return InvalidArgumentError("SIRR_ADDR " + config.addr + ": " + addr.status().message());
  s.addr = *addr;
  SIRR_ASSIGN_OR_RETURN(s.tls, TlsOf(config, s.addr.first));
  SIRR_ASSIGN_OR_RETURN(s.seal_options, SealOptionsOf(config));
  // 1. The master key, read once from its provider. Nothing is touched before it is known to
  //    be well-formed. The api provider has none: sirrd starts sealed.
  s.provider = config.provider;
  s.provider.log = [](const std::string& m) { Log("warning", m); };
  SIRR_ASSIGN_OR_RETURN(s.loaded, seal::LoadMasterKey(s.provider));
  SIRR_ASSIGN_OR_RETURN(s.admin_token, LoadAdminToken(config));
  SIRR_ASSIGN_OR_RETURN(s.jwt, LoadJwtVerifier(config));
  SIRR_RETURN_IF_ERROR(PrepareDataDir(config.data_dir, s.provider.key_file));
  // One sirrd (or restore) per data directory.
  SIRR_ASSIGN_OR_RETURN(s.lock, LockDataDir(config.data_dir));
  RemoveBackupLeftovers(config.data_dir);
  // Dual-key mode: the new key file is validated now, fail-closed like the current one.
  SIRR_ASSIGN_OR_RETURN(s.next_key, LoadNextKey(config.key_file_new));
  return s;
}

}  // namespace sirr::server::internal

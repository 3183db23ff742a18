#pragma once

// The composition root: configuration -> seal provider (the master key) -> storage -> audit log
// and its journal -> seal keeper (unseal) -> core services -> API -> HTTP (docs/architecture.md).
// Fail-closed: any problem with the key, the database or the audit log before serving ends
// with one line on stderr and a non-zero exit.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "seal/providers.h"

namespace sirr::server {

struct ServerConfig {
  std::string addr = "127.0.0.1:39999";
  // TLS (docs/deploy.md). Without a certificate sirrd listens on loopback addresses only,
  // unless tls_disable (SIRR_TLS_DISABLE=true, for a TLS-terminating proxy in front).
  std::string tls_cert_file;       // SIRR_TLS_CERT_FILE
  std::string tls_key_file;        // SIRR_TLS_KEY_FILE
  std::string tls_client_ca_file;  // SIRR_TLS_CLIENT_CA_FILE: mutual TLS
  bool tls_disable = false;        // SIRR_TLS_DISABLE
  // SIRR_TRUSTED_PROXIES: comma-separated addresses/networks whose X-Forwarded-For is believed.
  std::string trusted_proxies;
  std::string data_dir = "/var/lib/sirr";
  // Storage (docs/ha.md): "sqlite" (the embedded default, DATA_DIR/sirr.db) or "postgres".
  std::string storage = "sqlite";      // SIRR_STORAGE
  std::string database_url;            // SIRR_DATABASE_URL: libpq URI or key=value conninfo
  std::string database_password_file;  // SIRR_DATABASE_PASSWORD_FILE (else libpq's passfile)
  int database_pool = 8;               // SIRR_DATABASE_POOL: reader connections
  // SIRR_NODE_ID: this node's name in its audit records and journal (PostgreSQL); default: an
  // id generated once and kept in DATA_DIR/node-id.
  std::string node_id;
  std::string admin_token_file;
  std::string admin_token;                // development only (environment)
  std::string audit_log;                  // default: <data_dir>/audit.log
  bool audit_allow_special_file = false;  // SIRR_AUDIT_ALLOW_SPECIAL_FILE: a device or pipe
  // Audit rotation and retention (0: off) and sinks besides the file (docs/operator.md).
  int64_t audit_rotate_bytes = 0;    // SIRR_AUDIT_ROTATE_BYTES
  int64_t audit_rotate_seconds = 0;  // SIRR_AUDIT_ROTATE_SECONDS
  int audit_keep = 0;                // SIRR_AUDIT_KEEP: rotated files kept (0: all)
  std::string audit_sinks;           // SIRR_AUDIT_SINKS: "stdout", "syslog:required", ...
  std::string audit_syslog_socket = "/dev/log";  // SIRR_AUDIT_SYSLOG_SOCKET
  seal::ProviderConfig provider;  // provider name, key file, command and PKCS#11 settings
  std::string validation_hash;    // SEAL_UNSEAL_VALIDATION_HASH
  std::string key_file_new;       // SIRR_KEY_FILE_NEW: dual-key mode (rotation)
  int rotation_batch = 100;       // SIRR_ROTATION_BATCH: vault keys per rotation transaction
  // JWT bearer authentication (off when no key file is given).
  std::string jwt_public_key_file;
  std::string jwt_issuer;
  std::string jwt_audience;
  int64_t jwt_leeway_seconds = 60;
  bool jwt_require_exp = true;
  // Per-principal rate limit (token bucket); rate <= 0 turns it off.
  double rate_limit_per_second = 50;
  double rate_limit_burst = 100;
  bool rate_limit_admin = false;
  size_t max_body_bytes = 1 << 20;
  size_t max_value_bytes = 1 << 20;
  int threads = 0;           // io threads; 0: one per CPU
  int blocking_threads = 0;  // threads for requests that may block on durable writes (0: auto)
  int max_connections = 1024;
  int max_connections_per_client = 64;
  int vault_key_cache = 4096;  // SIRR_VAULT_KEY_CACHE: unwrapped vault keys kept in memory
  int idle_timeout_seconds = 30;
  int request_timeout_seconds = 10;
  int sweep_interval_seconds = 10;
  int64_t tombstone_retention_seconds = 86400;
  // Called once the server listens (tests use it to learn the port).
  std::function<void(uint16_t)> on_listening;
  // SIRR_READY_FILE: once listening, the server's URL ("http://127.0.0.1:40123") and a newline
  // are written here (atomically: a temporary file renamed), for scripts and tests that start
  // sirrd on port 0. Removed at shutdown.
  std::string ready_file;
  // Observability (docs/operator.md "Monitoring" and "Logging").
  bool metrics = true;       // SIRR_METRICS: collect metrics and serve GET /metrics
  std::string metrics_addr;  // SIRR_METRICS_ADDR: a separate, unauthenticated listener
  // SIRR_PUBLIC_URL: the base URL clients reach this server at (share links are built on it).
  std::string public_url;
  std::string log_format = "text";  // SIRR_LOG_FORMAT: text or json
  std::string log_level = "info";   // SIRR_LOG_LEVEL: debug, info, warning, error
  bool access_log = true;           // SIRR_ACCESS_LOG: one line per request
};

// Runs until SIGTERM/SIGINT. Returns the process exit code.
int RunServer(const ServerConfig& config);
// `sirrd health [--query Q]`: GET /health on this host's sirrd (SIRR_ADDR, with TLS when
// SIRR_TLS_CERT_FILE is set); prints the code and body; exit 0 only on 200. For container
// HEALTHCHECKs.
int Health(const ServerConfig& config, const std::string& query);

// `sirrd restore FILE` (server stopped): checks FILE is a Sirr database, keeps the current
// database beside it (sirr.db.pre-restore-<time>) and installs the copy as DATA_DIR/sirr.db.
int RestoreBackup(const ServerConfig& config, const std::string& file);

// `sirrd audit verify FILE`: checks the chain with the key file's audit key and, when the
// database is present, against its recorded head. Prints OK or the first bad line.
// Several files, or a directory (every audit file in it), are verified as one chain: each
// file's range is printed, and any gap, overlap or missing beginning fails.
int VerifyAudit(const std::vector<std::string>& audit_files, const ServerConfig& config,
                bool allow_missing_start = false);

// `sirrd migrate-storage --from sqlite:PATH --to postgres:URL`: copies every row (ciphertext as
// is, nothing decrypted) into an empty PostgreSQL database, verifies the counts, and refuses a
// target that holds data. The source sirrd must be stopped.
int MigrateStorage(const ServerConfig& config, const std::string& from, const std::string& to);

// `sirrd audit recover --reason TEXT` (server stopped): after the audit log was lost, starts a
// new one whose first record continues the chain from the head recorded in the database, so
// that sirrd starts again. Refuses when the log file exists and is not empty.
int RecoverAudit(const ServerConfig& config, const std::string& reason);

// `sirrd pkcs11 wrap`: creates the HSM key and the wrapped-key file from an existing key file
// or a newly generated key (whose mnemonic is printed once).
int Pkcs11Wrap(const ServerConfig& config, const std::string& from_key_file, bool generate,
               bool reuse_key);

}  // namespace sirr::server

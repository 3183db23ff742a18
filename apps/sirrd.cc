// sirrd: the Sirr server. `sirrd` (or `sirrd serve`) runs it; `sirrd audit verify FILE`
// checks an audit log. Flags override environment variables, which override defaults.

#include <CLI/CLI.hpp>
#include <cstdlib>

#include "base/version.h"
#include "seal/providers.h"
#include "server/server.h"

// Where the data lives: SQLite (default) or PostgreSQL (docs/ha.md).
void AddStorageOptions(CLI::App& app, sirr::server::ServerConfig& c) {
  app.add_option("--storage", c.storage, "Storage backend: sqlite (embedded) or postgres")
      ->envname("SIRR_STORAGE")
      ->check(CLI::IsMember({"sqlite", "postgres"}))
      ->capture_default_str();
  app.add_option(
         "--database-url", c.database_url,
         "PostgreSQL: a libpq URI or conninfo, e.g. "
         "postgresql://sirr@db1,db2/sirr?target_session_attrs=read-write&sslmode=verify-full "
         "(no password here: use SIRR_DATABASE_PASSWORD_FILE or a passfile)")
      ->envname("SIRR_DATABASE_URL");
  app.add_option("--database-password-file", c.database_password_file,
                 "PostgreSQL: file holding the database password (else libpq's PGPASSFILE or "
                 "~/.pgpass)")
      ->envname("SIRR_DATABASE_PASSWORD_FILE");
  app.add_option("--database-pool", c.database_pool,
                 "PostgreSQL: reader connections per node (plus one writer)")
      ->envname("SIRR_DATABASE_POOL")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--node-id", c.node_id,
                 "This node's name in its audit records (default: generated once, kept in "
                 "DATA_DIR/node-id)")
      ->envname("SIRR_NODE_ID");
}

// Master key, seal provider, admin token and audit log settings.
void AddKeyOptions(CLI::App& app, sirr::server::ServerConfig& c) {
  app.add_option("--key-file", c.provider.key_file,
                 "Master key file: base64 of 32 bytes, 64 hex digits or a 24-word BIP39 mnemonic")
      ->envname("SIRR_KEY_FILE");
  app.add_option("--key-file-new", c.key_file_new,
                 "Dual-key mode: the NEW master key file; it becomes the next keyring version and "
                 "every new wrap uses it; rotate with 'sirr operator rotate'")
      ->envname("SIRR_KEY_FILE_NEW");
  app.add_option("--rotation-batch", c.rotation_batch,
                 "Vault keys rewrapped per transaction during a key rotation")
      ->envname("SIRR_ROTATION_BATCH")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--admin-token-file", c.admin_token_file, "File holding the admin bearer token")
      ->envname("SIRR_ADMIN_TOKEN_FILE");
  // Taken out of the environment (and wiped from /proc/PID/environ) like the seal key.
  c.admin_token = sirr::seal::TakeEnvironmentVariable("SIRR_ADMIN_TOKEN");
  app.add_option("--audit-log", c.audit_log, "Audit log file (default DATA_DIR/audit.log)")
      ->envname("SIRR_AUDIT_LOG");
  app.add_flag("--audit-allow-special-file", c.audit_allow_special_file,
               "Accept an audit log that is not a regular file (a device or pipe; /dev/null "
               "would discard the trail)")
      ->envname("SIRR_AUDIT_ALLOW_SPECIAL_FILE");
  app.add_option("--audit-rotate-bytes", c.audit_rotate_bytes,
                 "Rotate the audit log when it reaches this many bytes (0: never)")
      ->envname("SIRR_AUDIT_ROTATE_BYTES")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 50))
      ->capture_default_str();
  app.add_option("--audit-rotate-seconds", c.audit_rotate_seconds,
                 "Rotate the audit log when its first record is this old (0: never)")
      ->envname("SIRR_AUDIT_ROTATE_SECONDS")
      ->check(CLI::Range(int64_t{0}, int64_t{10} * 366 * 86400))
      ->capture_default_str();
  app.add_option("--audit-keep", c.audit_keep,
                 "Rotated audit files kept; older ones are removed after an audit.pruned record "
                 "(0: keep all)")
      ->envname("SIRR_AUDIT_KEEP")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  app.add_option("--audit-sinks", c.audit_sinks,
                 "Also send every audit record to: stdout, syslog (comma-separated; ':required' "
                 "makes requests fail closed when the sink cannot be written)")
      ->envname("SIRR_AUDIT_SINKS");
  app.add_option("--audit-syslog-socket", c.audit_syslog_socket,
                 "Local syslog socket for the syslog sink (RFC 5424 datagrams)")
      ->envname("SIRR_AUDIT_SYSLOG_SOCKET")
      ->capture_default_str();
  app.add_option("--ready-file", c.ready_file,
                 "Once listening, write the server URL to this file (for scripts using port 0)")
      ->envname("SIRR_READY_FILE");
  app.add_option("--seal-provider", c.provider.provider,
                 "Where the master key comes from: file, docker, env, api, pkcs11, command")
      ->envname("SIRR_SEAL_PROVIDER")
      ->capture_default_str();
  app.add_option("--seal-command", c.provider.command,
                 "command provider: program (and arguments; no shell) that prints the key")
      ->envname("SIRR_SEAL_COMMAND");
  app.add_option("--seal-command-timeout", c.provider.command_timeout_seconds,
                 "command provider: seconds before the command is killed")
      ->envname("SIRR_SEAL_COMMAND_TIMEOUT")
      ->check(CLI::Range(1, 600))
      ->capture_default_str();
  app.add_option("--pkcs11-module", c.provider.pkcs11.module, "pkcs11 provider: module (.so)")
      ->envname("SIRR_PKCS11_MODULE");
  app.add_option("--pkcs11-token-label", c.provider.pkcs11.token_label,
                 "pkcs11 provider: token label")
      ->envname("SIRR_PKCS11_TOKEN_LABEL");
  app.add_option("--pkcs11-pin-file", c.provider.pkcs11.pin_file,
                 "pkcs11 provider: file holding the user PIN")
      ->envname("SIRR_PKCS11_PIN_FILE");
  app.add_option("--pkcs11-key-label", c.provider.pkcs11.key_label,
                 "pkcs11 provider: label of the AES-256 wrapping key in the HSM")
      ->envname("SIRR_PKCS11_KEY_LABEL");
  app.add_option("--pkcs11-wrapped-key-file", c.provider.pkcs11.wrapped_key_file,
                 "pkcs11 provider: the master key wrapped by the HSM key")
      ->envname("SIRR_PKCS11_WRAPPED_KEY_FILE");
  app.add_option("--validation-hash", c.validation_hash,
                 "0x + SHA-256 of the unseal mnemonic; keys that do not match are refused")
      ->envname("SEAL_UNSEAL_VALIDATION_HASH");
}

// Threads, connections, timeouts, sizes, sweeps, JWT and rate-limit settings.
void AddLimitOptions(CLI::App& app, sirr::server::ServerConfig& c) {
  app.add_option("--max-body-bytes", c.max_body_bytes, "Largest request body accepted (413 above)")
      ->envname("SIRR_MAX_BODY_BYTES")
      ->check(CLI::Range(size_t{1024}, size_t{64} << 20))
      ->capture_default_str();
  app.add_option("--max-value-bytes", c.max_value_bytes,
                 "Largest secret value accepted (422 above)")
      ->envname("SIRR_MAX_VALUE_BYTES")
      ->check(CLI::Range(size_t{1}, size_t{64} << 20))
      ->capture_default_str();
  app.add_option("--threads", c.threads,
                 "HTTP io threads, each serving its share of the connections (0: one per CPU; "
                 "on PostgreSQL at least 16)")
      ->envname("SIRR_THREADS")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  app.add_option("--blocking-threads", c.blocking_threads,
                 "Threads for requests that may wait on a durable write (concurrent writes "
                 "share commits; 0: 16, on PostgreSQL 64)")
      ->envname("SIRR_BLOCKING_THREADS")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  app.add_option("--max-connections", c.max_connections, "Open connections allowed (503 above)")
      ->envname("SIRR_MAX_CONNECTIONS")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--vault-key-cache", c.vault_key_cache,
                 "Unwrapped vault keys kept in memory (least recently used ones are dropped and "
                 "unwrapped again when needed)")
      ->envname("SIRR_VAULT_KEY_CACHE")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--max-connections-per-client", c.max_connections_per_client,
                 "Open connections allowed from one client address (429 above)")
      ->envname("SIRR_MAX_CONNECTIONS_PER_CLIENT")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  app.add_option("--idle-timeout", c.idle_timeout_seconds,
                 "Seconds a keep-alive connection may idle")
      ->envname("SIRR_IDLE_TIMEOUT")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  app.add_option("--request-timeout", c.request_timeout_seconds,
                 "Seconds allowed to receive one whole request")
      ->envname("SIRR_REQUEST_TIMEOUT")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  app.add_option("--sweep-interval", c.sweep_interval_seconds,
                 "Seconds between sweeps that destroy expired values")
      ->envname("SIRR_SWEEP_INTERVAL")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  app.add_option("--tombstone-retention", c.tombstone_retention_seconds,
                 "Seconds a burned/expired secret keeps answering 410 before it is forgotten")
      ->envname("SIRR_TOMBSTONE_RETENTION")
      ->check(CLI::Range(0, 10 * 366 * 86400))
      ->capture_default_str();
  app.add_option("--jwt-public-key-file", c.jwt_public_key_file,
                 "PEM file of public keys that sign JWT bearer tokens (RS256/384/512, ES256, "
                 "EdDSA); a '# kid: NAME' line before a block names it")
      ->envname("SIRR_JWT_PUBLIC_KEY_FILE");
  app.add_option("--jwt-issuer", c.jwt_issuer, "Required JWT iss claim (unchecked when empty)")
      ->envname("SIRR_JWT_ISSUER");
  app.add_option("--jwt-audience", c.jwt_audience, "Required JWT aud value (unchecked when empty)")
      ->envname("SIRR_JWT_AUDIENCE");
  app.add_option("--jwt-leeway", c.jwt_leeway_seconds,
                 "Seconds of clock skew allowed for exp/nbf/iat")
      ->envname("SIRR_JWT_LEEWAY")
      ->check(CLI::Range(0, 600))
      ->capture_default_str();
  app.add_option("--jwt-require-exp", c.jwt_require_exp, "Refuse JWTs without an exp claim")
      ->envname("SIRR_JWT_REQUIRE_EXP")
      ->capture_default_str();
  app.add_option("--rate-limit", c.rate_limit_per_second,
                 "Requests per second allowed per principal (token bucket); 0 turns it off")
      ->envname("SIRR_RATE_LIMIT")
      ->check(CLI::Range(0.0, 1e9))
      ->capture_default_str();
  app.add_option("--rate-limit-burst", c.rate_limit_burst,
                 "Requests a principal may make at once before the rate applies")
      ->envname("SIRR_RATE_LIMIT_BURST")
      ->check(CLI::Range(1.0, 1e9))
      ->capture_default_str();
  app.add_option("--rate-limit-admin", c.rate_limit_admin,
                 "Apply the rate limit to the admin token too")
      ->envname("SIRR_RATE_LIMIT_ADMIN")
      ->capture_default_str();
}

void AddTlsOptions(CLI::App& app, sirr::server::ServerConfig& c) {
  app.add_option("--tls-cert-file", c.tls_cert_file,
                 "TLS certificate (PEM; the leaf first, then its chain); re-read on SIGHUP")
      ->envname("SIRR_TLS_CERT_FILE");
  app.add_option("--tls-key-file", c.tls_key_file,
                 "TLS private key (PEM, unencrypted); re-read on SIGHUP")
      ->envname("SIRR_TLS_KEY_FILE");
  app.add_option("--tls-client-ca-file", c.tls_client_ca_file,
                 "Require client certificates signed by these CAs (PEM): mutual TLS")
      ->envname("SIRR_TLS_CLIENT_CA_FILE");
  app.add_option("--tls-disable", c.tls_disable,
                 "Allow plain HTTP on a non-loopback address (behind a TLS-terminating proxy)")
      ->envname("SIRR_TLS_DISABLE")
      ->capture_default_str();
  app.add_option("--public-url", c.public_url,
                 "The URL users reach this server at, e.g. https://vault.example.com "
                 "(share links are built on it)")
      ->envname("SIRR_PUBLIC_URL");
  app.add_option("--trusted-proxies", c.trusted_proxies,
                 "Comma-separated addresses/networks whose X-Forwarded-For names the client")
      ->envname("SIRR_TRUSTED_PROXIES");
}

void AddObservabilityOptions(CLI::App& app, sirr::server::ServerConfig& c) {
  app.add_option("--metrics", c.metrics,
                 "Collect Prometheus metrics and serve GET /metrics (a token with metrics:read)")
      ->envname("SIRR_METRICS")
      ->capture_default_str();
  app.add_option("--metrics-addr", c.metrics_addr,
                 "Also serve GET /metrics without a credential on this HOST:PORT")
      ->envname("SIRR_METRICS_ADDR");
  app.add_option("--log-format", c.log_format, "Log lines as text or json")
      ->envname("SIRR_LOG_FORMAT")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--log-level", c.log_level, "Lowest level logged: debug, info, warning, error")
      ->envname("SIRR_LOG_LEVEL")
      ->check(CLI::IsMember({"debug", "info", "warning", "warn", "error"}))
      ->capture_default_str();
  app.add_option("--access-log", c.access_log, "One log line per request (at level info)")
      ->envname("SIRR_ACCESS_LOG")
      ->capture_default_str();
}

int main(int argc, char** argv) {
  sirr::server::ServerConfig c;
  CLI::App app{
      "sirrd - the Sirr secrets vault server.\n\n"
      "With no subcommand, runs the server (same as 'sirrd serve'). The master key comes\n"
      "from the seal provider (SIRR_SEAL_PROVIDER, default file: SIRR_KEY_FILE) and is\n"
      "never accepted on the command line."};
  app.fallthrough();
  app.set_version_flag("--version", sirr::VersionLine("sirrd"),
                       "Print the version, commit and build type");
  app.add_option("--addr", c.addr, "Listen address HOST:PORT (port 0 picks a free port)")
      ->envname("SIRR_ADDR")
      ->capture_default_str();
  app.add_option("--data-dir", c.data_dir,
                 "Directory of the database and, by default, the audit log")
      ->envname("SIRR_DATA_DIR")
      ->capture_default_str();
  AddStorageOptions(app, c);
  AddTlsOptions(app, c);
  AddKeyOptions(app, c);
  AddLimitOptions(app, c);
  AddObservabilityOptions(app, c);

  app.add_subcommand("serve", "Run the server (the default)");
  auto* audit = app.add_subcommand("audit", "Audit log tools");
  audit->require_subcommand(1);
  std::vector<std::string> audit_files;
  bool allow_missing_start = false;
  auto* verify = audit->add_subcommand(
      "verify",
      "Verify audit files as one hash chain with the current key file (SIRR_KEY_FILE: the "
      "audit chain key is read from the database's keyring, so one key verifies across any "
      "number of master key rotations) and, if the data directory holds a database, against "
      "the chain head recorded there. Give a file, several files or a directory (every audit "
      "file in it: the log and its rotated files). Prints each file's record range, then OK or "
      "the problems (a bad line, a gap, a missing beginning); exit 0 when intact, 1 otherwise.");
  verify->add_option("FILE", audit_files, "Audit files or a directory")->required();
  verify->add_flag("--allow-missing-start", allow_missing_start,
                   "Accept a set that starts after record 1 without an audit.pruned record (files "
                   "an external logrotate deleted)");
  std::string recover_reason;
  auto* recover = audit->add_subcommand(
      "recover",
      "After the audit log was lost (sirrd refuses to start: the log ends before the head "
      "recorded in the database), start a new log whose first record, audit.recovered, "
      "continues the chain from that head and records --reason. sirrd must be stopped; the "
      "log file must not exist (move what is left of it away first).");
  recover->add_option("--reason", recover_reason, "Why the log was lost (recorded)")->required();

  std::string health_query;
  auto* health = app.add_subcommand(
      "health",
      "Ask this host's sirrd for GET /health (at SIRR_ADDR; over TLS when SIRR_TLS_CERT_FILE is "
      "set, accepting exactly that certificate). Prints the code and body; exit 0 only on 200 "
      "(unsealed and serving). For container HEALTHCHECKs and scripts.");
  health->add_option("--query", health_query, "Query string, e.g. sealedcode=200");
  std::string restore_file;
  auto* restore = app.add_subcommand(
      "restore",
      "Restore a backup made by 'sirr operator backup' into the data directory (sirrd must be "
      "stopped). The current database is kept beside it as sirr.db.pre-restore-<time>.");
  restore->add_option("FILE", restore_file, "The backup file")->required();
  auto* pkcs11 = app.add_subcommand("pkcs11", "HSM (PKCS#11) seal provider tools");
  pkcs11->require_subcommand(1);
  std::string from_key_file;
  bool generate = false, reuse_key = false;
  auto* wrap = pkcs11->add_subcommand(
      "wrap",
      "Create a non-extractable AES-256 key in the HSM (SIRR_PKCS11_MODULE, _TOKEN_LABEL, "
      "_PIN_FILE, _KEY_LABEL) and write the master key wrapped by it to "
      "SIRR_PKCS11_WRAPPED_KEY_FILE (never overwritten).");
  wrap->add_option("--from-key-file", from_key_file, "Wrap the key in this existing key file");
  wrap->add_flag("--generate", generate,
                 "Generate a new master key (its mnemonic is printed once for offline backup)");
  wrap->add_flag("--reuse-key", reuse_key,
                 "Wrap under an existing HSM key with the label instead of creating one");

  std::string migrate_from, migrate_to;
  auto* migrate = app.add_subcommand(
      "migrate-storage",
      "Copy an instance to another storage backend: every row, ciphertext as is (nothing is "
      "decrypted; the same master key unseals the copy), then the row counts are compared. The "
      "target must be empty; stop sirrd first. Example: sirrd migrate-storage --from "
      "sqlite:/var/lib/sirr/sirr.db --to postgres:postgresql://sirr@db.example.com/sirr "
      "(password from SIRR_DATABASE_PASSWORD_FILE or libpq's passfile).");
  migrate->add_option("--from", migrate_from, "sqlite:PATH of the database to copy")->required();
  migrate->add_option("--to", migrate_to, "postgres:URL of an empty database")->required();

  CLI11_PARSE(app, argc, argv);
  if (verify->parsed()) return sirr::server::VerifyAudit(audit_files, c, allow_missing_start);
  if (migrate->parsed()) return sirr::server::MigrateStorage(c, migrate_from, migrate_to);
  if (recover->parsed()) return sirr::server::RecoverAudit(c, recover_reason);
  if (wrap->parsed()) return sirr::server::Pkcs11Wrap(c, from_key_file, generate, reuse_key);
  if (health->parsed()) return sirr::server::Health(c, health_query);
  if (restore->parsed()) return sirr::server::RestoreBackup(c, restore_file);
  return sirr::server::RunServer(c);
}

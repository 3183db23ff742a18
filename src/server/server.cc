#include "server/server.h"

#include "base/version.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <boost/asio/ip/address.hpp>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include "api/api.h"
#include "audit/audit_log.h"
#include "audit/audit_search.h"
#include "audit/audit_sink.h"
#include "base/clock.h"
#include "base/log.h"
#include "core/audit_journal.h"
#include "core/seal_keeper.h"
#include "core/secrets.h"
#include "crypto/cloak.h"
#include "crypto/crypto.h"
#include "crypto/hd/bip39.h"
#include "http/health_probe.h"
#include "http/http_server.h"
#include "seal/master_key.h"
#include "seal/providers.h"
#include "server/observability.h"
#include "server/storage_setup.h"
#include "storage/postgres/pg_storage.h"
#include "storage/sqlite/sqlite_storage.h"

namespace sirr::server {
namespace {

void Log(std::string_view level, const std::string& message) {
  log::Write(level == "error"     ? log::Level::kError
             : level == "warning" ? log::Level::kWarning
                                  : log::Level::kInfo,
             message);
}

// io threads on PostgreSQL when SIRR_THREADS is not set (docs/ha.md).
constexpr int kPostgresIoThreads = 16;
constexpr int kPostgresBlockingThreads = 64;

int Fail(const std::string& message) {
  if (log::Current().format == log::Format::kJson) {
    log::Write(log::Level::kError, message);
    log::Flush();
  } else {
    std::fprintf(stderr, "sirrd: %s\n", message.c_str());
  }
  return 1;
}

StatusOr<std::pair<std::string, uint16_t>> SplitAddr(const std::string& addr) {
  size_t colon = addr.rfind(':');
  if (colon == std::string::npos) return InvalidArgumentError("address must be HOST:PORT");
  std::string host = addr.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  std::string port = addr.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return InvalidArgumentError("port must be a number from 0 to 65535");
  unsigned long p = std::stoul(port);
  if (p > 65535) return InvalidArgumentError("port must be a number from 0 to 65535");
  return std::make_pair(host, static_cast<uint16_t>(p));
}

// An exclusive flock on DATA_DIR/.sirrd.lock for the life of the process (one sirrd, or one
// restore, per data directory).
struct DirLock {
  int fd = -1;
  DirLock() = default;
  DirLock(DirLock&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  ~DirLock() {
    if (fd >= 0) ::close(fd);
  }
};

StatusOr<DirLock> LockDataDir(const std::string& data_dir) {
  const std::string path = (std::filesystem::path(data_dir) / ".sirrd.lock").string();
  DirLock lock;
  lock.fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock.fd < 0) return UnavailableError("cannot open " + path + ": " + std::strerror(errno));
  if (::flock(lock.fd, LOCK_EX | LOCK_NB) != 0)
    return FailedPreconditionError("another sirrd (or restore) is using the data directory " +
                                   data_dir + "; stop it first");
  return lock;
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

// Sweeps expired secrets and checkpoints the audit chain head on a schedule.
class Background {
 public:
  Background(core::Secrets& secrets, core::SealKeeper& keeper, audit::AuditLog& audit,
             storage::Storage& storage, int sweep_seconds, std::function<void()> tick)
      : secrets_(secrets),
        keeper_(keeper),
        audit_(audit),
        storage_(storage),
        sweep_seconds_(sweep_seconds),
        tick_(std::move(tick)) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~Background() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  // Notices a removed or replaced audit log (a new file continues the chain), syncs the log,
  // then records its head and drops the journal rows the synced file holds.
  void CheckpointAudit() {
    if (auto what = audit_.CheckFile(); !what.ok())
      Log("error", what.status().message());
    else if (!what->empty())
      Log("error", *what);
    if (keeper_.sealed()) return;
    if (auto rotated = audit_.MaybeRotate(); !rotated.ok())
      Log("error", rotated.status().message());
    else if (!rotated->empty())
      Log("info", *rotated);
    const int64_t journal_written = audit_.journal_written();
    audit::ChainHead head = audit_.Head();
    if (!audit_.Sync().ok()) {
      Log("error", "audit log sync failed");
      return;
    }
    if (head.seq == last_checkpoint_) return;
    if (storage_.SaveAuditHead(head.seq, head.mac, journal_written).ok())
      last_checkpoint_ = head.seq;
  }

 private:
  void Loop() {
    auto next_sweep = std::chrono::steady_clock::now();
    std::unique_lock lock(mu_);
    while (!stop_) {
      lock.unlock();
      if (!keeper_.sealed() && std::chrono::steady_clock::now() >= next_sweep) {
        auto swept = secrets_.Sweep();
        if (!swept.ok())
          Log("error", "sweeper: " + swept.status().message());
        else if (*swept > 0)
          Log("info", "sweeper destroyed " + std::to_string(*swept) + " expired value(s)");
        next_sweep = std::chrono::steady_clock::now() + std::chrono::seconds(sweep_seconds_);
      }
      if (tick_) tick_();
      CheckpointAudit();
      lock.lock();
      cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; });
    }
  }

  core::Secrets& secrets_;
  core::SealKeeper& keeper_;
  audit::AuditLog& audit_;
  storage::Storage& storage_;
  const int sweep_seconds_;
  const std::function<void()> tick_;  // once a second
  int64_t last_checkpoint_ = -1;      // used by the loop thread, and by the owner after join
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

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

// Creates the data directory (and missing parents) with mode 0700, whatever the umask; an
// existing one that others may read or enter draws a warning.
Status CreateDataDir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> missing;
  for (fs::path p = fs::absolute(dir, ec); !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0700) != 0 && errno != EEXIST)
      return InvalidArgumentError("cannot create data directory " + it->string() + ": " +
                                  std::strerror(errno));
    if (::chmod(it->c_str(), 0700) != 0)
      return InvalidArgumentError("cannot set mode 0700 on " + it->string() + ": " +
                                  std::strerror(errno));
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return InvalidArgumentError("data directory " + dir + " is not a directory");
  if (missing.empty() && (st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    Log("warning",
        "data directory " + dir + " has mode " + mode + ": other users may list it; chmod 700 it");
  }
  return OkStatus();
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

// An online backup: a consistent snapshot of the database file's bytes.
StatusOr<std::string> Snapshot(storage::Storage& store, const std::string& data_dir) {
  const std::string tmp =
      (std::filesystem::path(data_dir) / (".backup-" + crypto::SecureRandom::Get().Uuid() + ".tmp"))
          .string();
  SIRR_RETURN_IF_ERROR(store.BackupTo(tmp));
  std::ifstream in(tmp, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const bool read_ok = !in.bad();
  ::unlink(tmp.c_str());
  if (!read_ok) return UnavailableError("backup failed: cannot read the snapshot");
  return bytes;
}

http::HttpOptions HttpOptionsOf(const ServerConfig& config, const std::string& host,
                                uint16_t port) {
  http::HttpOptions http_options;
  http_options.host = host;
  http_options.port = port;
  http_options.max_body_bytes = config.max_body_bytes;
  http_options.threads = config.threads > 0
                             ? config.threads
                             : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  http_options.blocking_threads = config.blocking_threads > 0 ? config.blocking_threads : 16;
  http_options.blocking = &api::Api::MayBlock;
  http_options.max_connections = config.max_connections;
  http_options.max_connections_per_client =
      std::min(config.max_connections_per_client, config.max_connections);
  http_options.idle_timeout = std::chrono::seconds(config.idle_timeout_seconds);
  http_options.request_timeout = std::chrono::seconds(config.request_timeout_seconds);
  return http_options;
}

bool IsLoopback(const std::string& host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(host, ec);
  return !ec && a.is_loopback();
}

http::TlsFiles TlsFilesOf(const ServerConfig& config) {
  return {config.tls_cert_file, config.tls_key_file, config.tls_client_ca_file};
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

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> items;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

// Waits for the shutdown signal; SIGHUP re-reads the TLS files meanwhile (a bad new pair is
// refused and the old one kept).
void WaitForSignals(const sigset_t& signals, const ServerConfig& config, http::HttpServer& server,
                    bool tls, audit::AuditLog& audit) {
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      // An external logrotate (create mode) renamed the audit log: a new file continues now.
      if (auto what = audit.Reopen(); !what.ok())
        Log("error", "SIGHUP: audit log: " + what.status().message());
      else
        Log("info",
            "SIGHUP: audit log " + (what->empty() ? "still in place" : "reopened: " + *what));
      log::Flush();
      if (!tls) continue;
      auto fresh = http::MakeTlsServerContext(TlsFilesOf(config));
      if (!fresh.ok()) {
        Log("error", "SIGHUP: keeping the current certificate: " + fresh.status().message());
        continue;
      }
      server.SetTlsContext(std::move(fresh).value());
      Log("info", "SIGHUP: TLS certificate and key re-read; new connections use them");
      continue;
    }
    Log("info", std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
                    ", finishing requests in flight");
    sd_notify(0, "STOPPING=1");
    server.Shutdown();
    return;
  }
}

// SIRR_READY_FILE: the URL, written atomically (a temporary file renamed).
void WriteReadyFile(const std::string& path, const std::string& url) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  const bool written = f && std::fprintf(f, "%s\n", url.c_str()) > 0;
  if (f) std::fclose(f);
  if (!written || std::rename(tmp.c_str(), path.c_str()) != 0)
    Log("warning", "cannot write the ready file " + path);
}

// Blocks the shutdown signals in every thread (one thread waits for them), sets umask 077 and
// hardens the process (no core dumps, memory locked where allowed).
Status HardenAndBlockSignals(sigset_t* signals) {
  sigemptyset(signals);
  sigaddset(signals, SIGTERM);
  sigaddset(signals, SIGINT);
  sigaddset(signals, SIGHUP);  // re-reads the TLS certificate and key, reopens the audit log
  pthread_sigmask(SIG_BLOCK, signals, nullptr);
  // A closed stdout or stderr (an audit sink, the log) is an error to handle, not a signal.
  ::signal(SIGPIPE, SIG_IGN);
  ::umask(077);
  std::string harden_warning;
  SIRR_RETURN_IF_ERROR(crypto::HardenProcess(&harden_warning));
  if (!harden_warning.empty()) Log("warning", harden_warning);
  return OkStatus();
}

// SIRR_KEY_FILE_NEW (dual-key mode), when set.
StatusOr<std::optional<SecretBytes>> LoadNextKey(const std::string& key_file_new) {
  if (key_file_new.empty()) return std::optional<SecretBytes>();
  auto file = seal::ReadKeyFile(key_file_new);
  if (!file.ok()) return InvalidArgumentError("SIRR_KEY_FILE_NEW: " + file.status().message());
  if (file->permission_warning) Log("warning", *file->permission_warning);
  return std::optional<SecretBytes>(std::move(file->key));
}

// Unseals with the provider's key, if it gave one: a key that does not match the keyring, or an
// audit log that does not continue the recorded chain, stops sirrd (fail-closed). Returns the
// server.start record's detail.
StatusOr<std::string> UnsealAtStart(core::SealKeeper& keeper, seal::LoadedKey& loaded,
                                    const std::string& db_path) {
  if (keeper.has_next_key())
    Log("info",
        "dual-key mode: SIRR_KEY_FILE_NEW is the new master key; rotate with "
        "'sirr operator rotate' (POST /api/v1/admin/rotate-keys)");
  if (!loaded.key) {
    Log("info", "sealed: waiting for POST /api/v1/unseal (sirr operator unseal)");
    return std::string("started sealed; waiting for POST /api/v1/unseal");
  }
  auto unsealed = keeper.Unseal(std::move(*loaded.key));
  loaded.key.reset();
  if (!unsealed.ok())
    return FailedPreconditionError(loaded.source + ": " + unsealed.status().message());
  if (unsealed->initialized_now)
    Log("info", "initialised a new database (" + db_path + "): keyring version 1, vault 'default'");
  Log("info", "unsealed with the master key from " + loaded.source);
  return unsealed->initialized_now
             ? std::string("initialised keyring version 1 and the default vault")
             : "key version " + std::to_string(unsealed->key_version);
}

// At shutdown: the server.stop record, the audit chain head checkpoint (when unsealed), then
// every key wiped. Returns whether the stop record was written.
Status FinalRecords(audit::AuditLog& audit, core::SealKeeper& keeper, storage::Storage& storage) {
  audit::Event stop;
  stop.action = "server.stop";
  stop.outcome = "success";
  Status stop_logged = audit.Append(stop);
  if (!keeper.sealed()) {
    const int64_t journal_written = audit.journal_written();
    auto head = audit.Head();
    if (audit.Sync().ok()) (void)storage.SaveAuditHead(head.seq, head.mac, journal_written);
  }
  if (size_t pending = audit.pending(); pending > 0)
    Log("warning", std::to_string(pending) +
                       " audit event(s) that happened while sealed were not written (no key)");
  keeper.Seal();  // wipes every key
  return stop_logged;
}

}  // namespace

// SIRR_LOG_FORMAT, SIRR_LOG_LEVEL and SIRR_ACCESS_LOG, before anything is logged.
Status ConfigureLogging(const ServerConfig& config) {
  log::Options options;
  SIRR_ASSIGN_OR_RETURN(options.format, log::ParseFormat(config.log_format));
  SIRR_ASSIGN_OR_RETURN(options.level, log::ParseLevel(config.log_level));
  options.access_log = config.access_log;
  log::Configure(options);
  return OkStatus();
}

// SIRR_METRICS_ADDR: GET /metrics without a credential, on its own listener (one thread), with
// the main listener's TLS when it has one. Null when not configured.
StatusOr<std::unique_ptr<http::HttpServer>> MetricsListener(
    const ServerConfig& config, Observability& obs,
    const std::shared_ptr<boost::asio::ssl::context>& tls) {
  if (config.metrics_addr.empty()) return std::unique_ptr<http::HttpServer>();
  if (!obs.collecting())
    return InvalidArgumentError("SIRR_METRICS_ADDR is set but SIRR_METRICS=false");
  auto addr = SplitAddr(config.metrics_addr);
  if (!addr.ok())
    return InvalidArgumentError("SIRR_METRICS_ADDR " + config.metrics_addr + ": " +
                                addr.status().message());
  http::HttpOptions o;
  o.host = addr->first;
  o.port = addr->second;
  o.threads = 1;
  o.blocking_threads = 1;
  o.max_connections = 64;
  o.max_body_bytes = 1024;
  o.tls = tls;
  return http::HttpServer::New(o, [&obs](const api::Request& req) {
    const std::string_view path = std::string_view(req.target).substr(0, req.target.find('?'));
    if (path != "/metrics") return api::ErrorResponse(NotFoundError("only GET /metrics here"));
    if (req.method != "GET" && req.method != "HEAD") return api::MethodNotAllowed("GET, HEAD");
    api::Response r;
    r.body = obs.Render();
    r.SetHeader("Content-Type", std::string(metrics::Registry::kContentType));
    r.route = "/metrics";
    return r;
  });
}

int RunServer(const ServerConfig& config) {
  if (Status st = ConfigureLogging(config); !st.ok()) return Fail(st.message());
  sigset_t signals;
  if (Status st = HardenAndBlockSignals(&signals); !st.ok()) return Fail(st.message());

  auto addr = SplitAddr(config.addr);
  if (!addr.ok()) return Fail("SIRR_ADDR " + config.addr + ": " + addr.status().message());
  auto tls = TlsOf(config, addr->first);
  if (!tls.ok()) return Fail(tls.status().message());
  auto seal_options = SealOptionsOf(config);
  if (!seal_options.ok()) return Fail(seal_options.status().message());

  // 1. The master key, read once from its provider. Nothing is touched before it is known to
  //    be well-formed. The api provider has none: sirrd starts sealed.
  seal::ProviderConfig provider = config.provider;
  provider.log = [](const std::string& m) { Log("warning", m); };
  auto loaded = seal::LoadMasterKey(provider);
  if (!loaded.ok()) return Fail(loaded.status().message());
  auto admin_token = LoadAdminToken(config);
  if (!admin_token.ok()) return Fail(admin_token.status().message());
  auto jwt = LoadJwtVerifier(config);
  if (!jwt.ok()) return Fail(jwt.status().message());

  if (Status st = PrepareDataDir(config.data_dir, provider.key_file); !st.ok())
    return Fail(st.message());
  // One sirrd (or restore) per data directory.
  auto lock = LockDataDir(config.data_dir);
  if (!lock.ok()) return Fail(lock.status().message());
  RemoveBackupLeftovers(config.data_dir);

  // Dual-key mode: the new key file is validated now, fail-closed like the current one.
  auto next_key = LoadNextKey(config.key_file_new);
  if (!next_key.ok()) return Fail(next_key.status().message());

  // 2. Storage, the audit log (sealed until it has its key) and the seal.
  auto opened = OpenStorage(config);
  if (!opened.ok()) return Fail(opened.status().message());
  const std::string db_path = opened->where;
  auto* storage = &opened->storage;
  Clock& clock = SystemClock::Get();
  Random& random = crypto::SecureRandom::Get();
  const std::string audit_path =
      config.audit_log.empty() ? (std::filesystem::path(config.data_dir) / "audit.log").string()
                               : config.audit_log;
  audit::AuditOptions audit_options;
  audit_options.allow_special_file = config.audit_allow_special_file;
  audit_options.rotate_bytes = config.audit_rotate_bytes;
  audit_options.rotate_seconds = config.audit_rotate_seconds;
  audit_options.keep = config.audit_keep;
  auto sinks = audit::ParseSinks(config.audit_sinks, config.audit_syslog_socket);
  if (!sinks.ok()) return Fail(sinks.status().message());
  audit_options.sinks = std::move(sinks).value();
  // Several nodes on one database: each keeps its own chain, every record naming the node.
  audit_options.node = opened->node_id;
  audit::AuditLog audit(audit_path, clock, audit_options);
  // Audit before commit: state changes commit their records into the journal, which feeds
  // the log file (docs/formats.md).
  core::AuditJournal journal(audit);
  (*storage)->SetJournalSink(&journal);
  core::SealKeeper keeper(**storage, audit, clock, random, *seal_options);
  if (*next_key) {
    if (Status st = keeper.SetNextKey(**next_key); !st.ok()) return Fail(st.message());
    next_key->reset();
  }

  // 3. Unseal with the provider's key: a key that does not match the keyring, or an audit log
  //    that does not continue the recorded chain, stops sirrd (fail-closed).
  auto start_detail = UnsealAtStart(keeper, *loaded, db_path);
  if (!start_detail.ok()) return Fail(start_detail.status().message());

  core::SecretLimits limits;
  limits.max_value_bytes = config.max_value_bytes;
  limits.tombstone_retention_ms = config.tombstone_retention_seconds * 1000;
  core::Vaults vaults(**storage, keeper, audit, clock, random);
  core::Tokens tokens(**storage, audit, clock, random);
  core::Secrets secrets(**storage, keeper, vaults, audit, clock, random, limits);
  // A share's ciphertext is the value plus at most 29 bytes of framing (format v1).
  core::Shares shares(**storage, keeper, vaults, audit, clock, random, config.max_value_bytes + 64);
  api::ApiOptions api_options;
  api_options.shares = &shares;
  std::string public_url = config.public_url;
  while (public_url.ends_with('/')) public_url.pop_back();
  if (!public_url.empty() && !public_url.starts_with("https://") &&
      !public_url.starts_with("http://"))
    return Fail(
        "SIRR_PUBLIC_URL must start with https:// (or http://), e.g. "
        "https://vault.example.com");
  api_options.public_url = std::move(public_url);
  api_options.admin_token = std::move(admin_token).value();
  api_options.version = std::string(Version());
  api_options.jwt = std::move(jwt).value();
  api_options.rate_limits.per_second = config.rate_limit_per_second;
  api_options.rate_limits.burst = std::max(1.0, config.rate_limit_burst);
  api_options.rate_limit_admin = config.rate_limit_admin;
  api_options.log = [](const std::string& m) { Log("info", m); };
  core::Keys keys(**storage, keeper, vaults, audit, clock, random);
  core::KeyRotation rotation(**storage, keeper, audit, clock, random, config.rotation_batch);
  api_options.rotation = &rotation;
  storage::Storage* store = storage->get();
  api_options.backup = [store, data_dir = config.data_dir] { return Snapshot(*store, data_dir); };
  api_options.audit_search = [&audit, audit_path](const audit::AuditQuery& q) {
    std::vector<std::string> files = audit.RotatedFiles();
    files.push_back(audit_path);
    return audit::Search(files, q);
  };
  Observability obs(config.metrics);
  if (obs.collecting()) api_options.metrics = [&obs] { return obs.Render(); };
  api::Api api(secrets, vaults, tokens, keys, keeper, audit, clock, std::move(api_options));

  http::HttpOptions http_options = HttpOptionsOf(config, addr->first, addr->second);
  // On PostgreSQL a read the cache cannot serve waits on the network: more io threads (unless
  // SIRR_THREADS says), so that a few such reads do not hold up the rest.
  // A durable write there also waits out the cache lease (docs/ha.md): more blocking threads,
  // so that concurrent writes still share commits.
  if (opened->postgres && config.threads <= 0)
    http_options.threads = std::max(http_options.threads, kPostgresIoThreads);
  if (opened->postgres && config.blocking_threads <= 0)
    http_options.blocking_threads = kPostgresBlockingThreads;
  http_options.tls = *tls;
  http_options.trusted_proxies = SplitList(config.trusted_proxies);
  http_options.observer = [&obs](const http::RequestInfo& r) { obs.Observe(r); };
  http_options.in_flight = obs.in_flight();
  obs.Register(**storage, audit, api, keeper, rotation);
  obs.RefreshLiveCounts(**storage, clock.NowMillis());
  auto server =
      http::HttpServer::New(http_options, [&api](const api::Request& r) { return api.Handle(r); });
  if (!server.ok()) return Fail(server.status().message());
  auto metrics_server = MetricsListener(config, obs, *tls);
  if (!metrics_server.ok()) return Fail(metrics_server.status().message());

  audit::Event start;
  start.action = "server.start";
  start.outcome = "success";
  start.detail = "provider " + provider.provider + "; " + *start_detail;
  if (!audit.Append(start).ok()) return Fail("audit log " + audit_path + " is not writable");

  const std::string host =
      addr->first.find(':') != std::string::npos ? "[" + addr->first + "]" : addr->first;
  const std::string url =
      std::string(*tls ? "https://" : "http://") + host + ":" + std::to_string((*server)->port());
  Log("info", VersionLine("sirrd") + " listening on " + url + " (" + opened->where + ", audit " +
                  audit_path + ", seal provider " + provider.provider + ")");
  std::thread metrics_thread;
  if (*metrics_server) {
    Log("info", std::string("metrics on ") + (*tls ? "https://" : "http://") +
                    config.metrics_addr.substr(0, config.metrics_addr.rfind(':')) + ":" +
                    std::to_string((*metrics_server)->port()) + "/metrics (no credential)");
    metrics_thread = std::thread([&] { (*metrics_server)->Run(); });
  }
  if (config.on_listening) config.on_listening((*server)->port());
  if (!config.ready_file.empty()) WriteReadyFile(config.ready_file, url);
  // systemd Type=notify (NOTIFY_SOCKET set): ready once listening and unsealed (or sealed and
  // waiting for the api provider's unseal, which is as ready as it gets without an operator).
  sd_notifyf(0, "READY=1\nSTATUS=listening on %s%s", url.c_str(),
             keeper.sealed() ? " (sealed)" : "");

  std::thread signal_thread(
      [&] { WaitForSignals(signals, config, **server, static_cast<bool>(*tls), audit); });

  {
    int ticks = 0;
    Background background(secrets, keeper, audit, **storage, config.sweep_interval_seconds, [&] {
      api.FlushRefusalSummaries();
      log::Flush();
      if (++ticks % Observability::kLiveCountSeconds == 0)
        obs.RefreshLiveCounts(**storage, clock.NowMillis());
    });
    (*server)->Run();
    // Stop the sweeper before the final records.
  }
  api.FlushRefusalSummaries(/*all=*/true);
  Status stop_logged = FinalRecords(audit, keeper, **storage);
  if (signal_thread.joinable()) {
    // The signal thread has returned if a signal arrived; otherwise wake it.
    pthread_kill(signal_thread.native_handle(), SIGTERM);
    signal_thread.join();
  }
  if (metrics_thread.joinable()) {
    (*metrics_server)->Shutdown();
    metrics_thread.join();
  }
  server->reset();
  storage->reset();
  if (!config.ready_file.empty()) std::remove(config.ready_file.c_str());
  Log("info", "stopped cleanly");
  log::Flush();
  return stop_logged.ok() ? 0 : 1;
}

// The audit keys a verification tries: the chain key from the keyring of `storage` (null: no
// database; unwrapped by one of `masters`; docs/formats.md "Audit chain key"), then the
// masters' own HKDF audit keys (lines written before schema 7).
StatusOr<std::vector<SecretBytes>> AuditKeysFor(const std::vector<seal::MasterKey>& masters,
                                                storage::Storage* storage) {
  std::vector<SecretBytes> keys;
  if (storage) {
    SIRR_ASSIGN_OR_RETURN(auto keyring, storage->ListKeyring());
    bool known = false;
    for (const auto& row : keyring) {
      for (const auto& m : masters) {
        if (row.key_id != Bytes(m.key_id().begin(), m.key_id().end())) continue;
        known = true;
        if (row.audit_key.empty() || !keys.empty()) continue;
        SIRR_ASSIGN_OR_RETURN(SecretBytes k, m.UnwrapAuditKey(row.version, row.audit_key));
        keys.push_back(std::move(k));
      }
    }
    if (!known) return PermissionDeniedError("the key file's key is not in the keyring");
  }
  for (const auto& m : masters) keys.push_back(m.audit_key());
  return keys;
}

int VerifyAudit(const std::vector<std::string>& audit_files, const ServerConfig& config,
                bool allow_missing_start) {
  const std::string& data_dir = config.data_dir;
  std::vector<seal::MasterKey> masters;
  for (const std::string& file : {config.provider.key_file, config.key_file_new}) {
    if (file.empty()) continue;
    auto key = seal::ReadKeyFile(file);
    if (!key.ok()) return Fail(key.status().message());
    auto master = seal::MasterKey::Derive(std::move(key->key));
    if (!master.ok()) return Fail(master.status().message());
    masters.push_back(std::move(master).value());
  }
  if (masters.empty()) return Fail("no key file given (SIRR_KEY_FILE)");
  // The database, when there is one, gives the chain key and the recorded head (one open).
  // On PostgreSQL: this node's recorded head (SIRR_NODE_ID or DATA_DIR/node-id).
  std::unique_ptr<storage::Storage> storage;
  std::optional<audit::ChainHead> head;
  std::string db = (std::filesystem::path(data_dir) / "sirr.db").string();
  if (config.storage == "postgres" ||
      (!data_dir.empty() && std::filesystem::exists(std::filesystem::path(db)))) {
    auto opened = OpenStorage(config);
    if (!opened.ok()) return Fail(opened.status().message());
    db = opened->where;
    storage = std::move(opened->storage);
    auto recorded = storage->LoadAuditHead();
    if (!recorded.ok()) return Fail(recorded.status().message());
    if (*recorded) head = audit::ChainHead{(*recorded)->first, (*recorded)->second};
  }
  auto audit_keys = AuditKeysFor(masters, storage.get());
  if (!audit_keys.ok()) return Fail(audit_keys.status().message() + (storage ? " of " + db : ""));
  std::vector<const SecretBytes*> key_ptrs;
  for (const auto& k : *audit_keys) key_ptrs.push_back(&k);
  std::vector<std::string> files;
  for (const auto& f : audit_files) {
    std::error_code ec;
    if (std::filesystem::is_directory(f, ec)) {
      auto in_dir = audit::AuditFilesIn(f);
      if (in_dir.empty()) return Fail("no audit files in " + f);
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else if (!std::filesystem::exists(f, ec)) {
      return Fail("cannot open audit log " + f);
    } else {
      files.push_back(f);
    }
  }
  if (files.size() == 1) {
    // One file: its chain, with the notes about torn records and continuations.
    auto result = audit::Verify(files[0], key_ptrs, head);
    if (!result.ok()) return Fail(result.status().message());
    if (!result->ok) {
      std::printf("FAIL line %lld: %s\n", static_cast<long long>(result->bad_line),
                  result->problem.c_str());
      return 1;
    }
    std::printf("OK %lld lines (records %lld-%lld)%s\n", static_cast<long long>(result->lines),
                static_cast<long long>(result->first_seq), static_cast<long long>(result->head.seq),
                head ? ", matches the head recorded in the database" : "");
    if (result->continues_after > 0)
      std::printf(
          "note: this file continues the chain after sequence %lld (its first record says "
          "why: the log was rotated, removed, replaced or lost)\n",
          static_cast<long long>(result->continues_after));
    for (int64_t line : result->torn_lines)
      std::printf(
          "note: line %lld is a torn record (a write cut short by a crash or a full disk), "
          "not an edit: the chain continues across it\n",
          static_cast<long long>(line));
    return 0;
  }
  auto set = audit::VerifySet(files, key_ptrs, head, allow_missing_start);
  if (!set.ok()) return Fail(set.status().message());
  for (const auto& f : set->files) {
    const auto& r = f.result;
    std::printf("%s: records %lld-%lld (%lld lines)%s%s\n", f.path.c_str(),
                static_cast<long long>(r.first_seq), static_cast<long long>(r.head.seq),
                static_cast<long long>(r.lines), r.ok ? "" : " FAIL",
                r.torn_lines.empty() ? "" : " (torn records: not edits)");
  }
  if (set->pruned_through > 0)
    std::printf("records 1-%lld were removed under the retention policy (audit.pruned)\n",
                static_cast<long long>(set->pruned_through));
  if (!set->ok) {
    for (const auto& p : set->problems) std::printf("FAIL %s\n", p.c_str());
    return 1;
  }
  std::printf("OK %zu files, records %lld-%lld%s\n", set->files.size(),
              static_cast<long long>(set->files.front().result.first_seq),
              static_cast<long long>(set->head.seq),
              head ? ", matches the head recorded in the database" : "");
  return 0;
}

int RecoverAudit(const ServerConfig& config, const std::string& reason) {
  if (reason.empty()) return Fail("say why with --reason TEXT (it is recorded in the new log)");
  std::error_code ec;
  auto lock = LockDataDir(config.data_dir);
  if (!lock.ok()) return Fail(lock.status().message());
  // The key that MACs new records: the new key in dual-key mode, else the current one.
  const std::string key_file =
      config.key_file_new.empty() ? config.provider.key_file : config.key_file_new;
  auto key = seal::ReadKeyFile(key_file);
  if (!key.ok()) return Fail(key.status().message());
  auto master = seal::MasterKey::Derive(std::move(key->key));
  if (!master.ok()) return Fail(master.status().message());
  const auto db = std::filesystem::path(config.data_dir) / "sirr.db";
  if (config.storage != "postgres" && !std::filesystem::exists(db, ec))
    return Fail("no database at " + db.string() + ": nothing to recover the audit chain from");
  auto opened = OpenStorage(config);  // on PostgreSQL: this node's recorded head
  if (!opened.ok()) return Fail(opened.status().message());
  auto* storage = &opened->storage;
  auto keyring = (*storage)->ListKeyring();
  if (!keyring.ok()) return Fail(keyring.status().message());
  bool known = false;
  for (const auto& row : *keyring)
    known = known || row.key_id == Bytes(master->key_id().begin(), master->key_id().end());
  if (!known) return Fail("the key in " + key_file + " is not in this database's keyring");
  auto recorded = (*storage)->LoadAuditHead();
  if (!recorded.ok()) return Fail(recorded.status().message());
  audit::ChainHead from{0, Bytes(32, 0)};
  if (*recorded) from = audit::ChainHead{(*recorded)->first, (*recorded)->second};
  const std::string audit_path =
      config.audit_log.empty() ? (std::filesystem::path(config.data_dir) / "audit.log").string()
                               : config.audit_log;
  std::vector<seal::MasterKey> masters;
  masters.push_back(std::move(master).value());
  auto audit_keys = AuditKeysFor(masters, storage->get());
  if (!audit_keys.ok()) return Fail(audit_keys.status().message());
  const std::string key_id_hex = crypto::KeyIdHex(masters.front().key_id());
  Status st = audit::AuditLog::Recover(audit_path, std::move(audit_keys->front()), key_id_hex, from,
                                       reason, SystemClock::Get());
  if (!st.ok()) return Fail(st.message());
  std::printf(
      "started %s: its first record (audit.recovered, sequence %lld) continues the chain "
      "after sequence %lld recorded in the database; keep the reason on file\n",
      audit_path.c_str(), static_cast<long long>(from.seq + 1), static_cast<long long>(from.seq));
  return 0;
}

int Health(const ServerConfig& config, const std::string& query) {
  auto addr = SplitAddr(config.addr);
  if (!addr.ok()) return Fail("SIRR_ADDR " + config.addr + ": " + addr.status().message());
  auto r = http::ProbeHealth(addr->first, addr->second, config.tls_cert_file, query);
  if (!r.ok()) return Fail("health: " + r.status().message());
  std::printf("%d %s\n", r->status, r->body.c_str());
  return r->status == 200 ? 0 : 1;
}

int RestoreBackup(const ServerConfig& config, const std::string& file) {
  std::error_code ec;
  if (config.storage == "postgres")
    return Fail(
        "SIRR_STORAGE=postgres: restore the database with PostgreSQL's tools (pg_restore for a "
        "pg_dump, or a base backup with WAL replay), see docs/ha.md; 'sirrd restore' installs "
        "SQLite backups only");
  if (Status st = CreateDataDir(config.data_dir); !st.ok()) return Fail(st.message());
  auto lock = LockDataDir(config.data_dir);
  if (!lock.ok()) return Fail(lock.status().message());
  // 1. The file must be an intact Sirr database with a keyring.
  if (Status st = storage::SqliteStorage::CheckBackupFile(file); !st.ok())
    return Fail(st.message());
  // 2. Copy it beside the database, then swap it in; the current database is kept.
  const auto dir = std::filesystem::path(config.data_dir);
  const auto db = dir / "sirr.db";
  const auto tmp = dir / "sirr.db.restore.tmp";
  std::filesystem::remove(tmp, ec);
  std::filesystem::copy_file(file, tmp, ec);
  if (ec) return Fail("cannot copy " + file + ": " + ec.message());
  std::filesystem::permissions(
      tmp, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ec);
  // The audit chain checkpoint refers to the audit log the backup was taken beside; without
  // that log here, it is cleared so the chain starts anew (sirrd would otherwise refuse).
  const std::string audit_path =
      config.audit_log.empty() ? (dir / "audit.log").string() : config.audit_log;
  const bool have_audit = std::filesystem::exists(audit_path);
  if (!have_audit) {
    if (Status st = storage::SqliteStorage::ForgetAuditHead(tmp.string()); !st.ok())
      return Fail("cannot prepare the restored copy: " + st.message());
  }
  {
    int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) return Fail("cannot sync the restored copy");
    ::close(fd);
  }
  std::string kept;
  if (std::filesystem::exists(db)) {
    const std::string suffix = ".pre-restore-" + std::to_string(SystemClock::Get().NowMillis());
    for (const char* ext : {"", "-wal", "-shm"}) {
      auto from = dir / (std::string("sirr.db") + ext);
      if (std::filesystem::exists(from)) {
        std::filesystem::rename(from, dir / (std::string("sirr.db") + ext + suffix), ec);
        if (ec) return Fail("cannot move " + from.string() + " aside: " + ec.message());
      }
    }
    kept = (dir / ("sirr.db" + suffix)).string();
  }
  std::filesystem::rename(tmp, db, ec);
  if (ec) return Fail("cannot install the restored database: " + ec.message());
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  std::printf("restored %s into %s%s\n", file.c_str(), db.c_str(),
              kept.empty() ? "" : (" (the previous database is kept as " + kept + ")").c_str());
  if (!have_audit)
    std::printf(
        "no audit log at %s: the audit chain starts anew there (keep the audit log "
        "that belongs to the backup to verify the history)\n",
        audit_path.c_str());
  std::printf("start sirrd with the master key this database was sealed with\n");
  return 0;
}

int Pkcs11Wrap(const ServerConfig& config, const std::string& from_key_file, bool generate,
               bool reuse_key) {
  if (generate == !from_key_file.empty())
    return Fail("pkcs11 wrap: give exactly one of --from-key-file FILE or --generate");
  std::string warning;
  if (Status hardened = crypto::HardenProcess(&warning); !hardened.ok())
    return Fail(hardened.message());
  SecretBytes key;
  if (generate) {
    key = crypto::SecureRandom::Get().RandomSecret(seal::kMasterKeySize);
  } else {
    auto file = seal::ReadKeyFile(from_key_file);
    if (!file.ok()) return Fail(file.status().message());
    key = std::move(file->key);
  }
  auto done = seal::Pkcs11WrapMasterKey(config.provider.pkcs11, key, {reuse_key},
                                        crypto::SecureRandom::Get());
  if (!done.ok()) return Fail(done.status().message());
  std::printf("%s\n", done->c_str());
  if (generate) {
    auto mnemonic = crypto::hd::EntropyToMnemonic(key.reveal());
    if (!mnemonic.ok()) return Fail(mnemonic.status().message());
    std::printf(
        "\nThe new master key, shown once. It is the only copy outside the HSM: write the 24 "
        "words\n"
        "down and keep them offline (a safe, not a file next to the database). With them the\n"
        "instance can be unsealed (sirr operator unseal) if the HSM is lost.\n\n  %.*s\n\n"
        "Validation hash (SEAL_UNSEAL_VALIDATION_HASH, not secret): %s\n",
        static_cast<int>(mnemonic->size()), mnemonic->reveal_string().data(),
        seal::ValidationHash(key).c_str());
  }
  std::printf("Start sirrd with SIRR_SEAL_PROVIDER=pkcs11 and the same SIRR_PKCS11_* settings.\n");
  return 0;
}

}  // namespace sirr::server

namespace sirr::server {

int MigrateStorage(const ServerConfig& config, const std::string& from, const std::string& to) {
  if (!from.starts_with("sqlite:") || from.size() == 7)
    return Fail("--from must be sqlite:PATH (the database file of a stopped sirrd)");
  if (!to.starts_with("postgres:") || to.size() == 9)
    return Fail("--to must be postgres:URL (a libpq URI or conninfo of an empty database)");
  const std::string path = from.substr(7);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return Fail("--from: no database file at " + path);
  // The source sirrd must be stopped: its data directory lock.
  const std::string dir = std::filesystem::absolute(path, ec).parent_path().string();
  auto lock = LockDataDir(dir);
  if (!lock.ok()) return Fail(lock.status().message());
  ServerConfig target = config;
  target.storage = "postgres";
  target.database_url = to.substr(9);
  // The copy continues the source node's audit chain: its node id goes with it.
  if (target.node_id.empty()) target.data_dir = dir;
  auto opened = OpenStorage(target);
  if (!opened.ok()) return Fail(opened.status().message());
  auto* pg = static_cast<storage::PostgresStorage*>(opened->storage.get());
  std::printf("copying %s to %s\n", path.c_str(), opened->where.c_str());
  std::fflush(stdout);
  auto copied = pg->ImportFromSqlite(path, [](const std::string& line) {
    std::printf("  %s\n", line.c_str());
    std::fflush(stdout);
  });
  if (!copied.ok())
    return Fail("migrate-storage: " + copied.status().message() +
                " (nothing was committed to the target)");
  int64_t rows = 0;
  for (const auto& [table, n] : *copied) rows += n;
  std::printf(
      "done: %lld rows copied and counted in the target, ciphertext as stored. Start sirrd "
      "with SIRR_STORAGE=postgres and SIRR_DATABASE_URL, the same master key, and (to continue "
      "this node's audit chain) SIRR_NODE_ID=%s with the same audit log.\n",
      static_cast<long long>(rows), opened->node_id.c_str());
  return 0;
}

}  // namespace sirr::server

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
#include "server/server_internal.h"
#include "server/storage_setup.h"
#include "storage/postgres/pg_storage.h"
#include "storage/sqlite/sqlite_storage.h"

namespace sirr::server {
namespace internal {

void Log(std::string_view level, const std::string& message) {
  log::Write(level == "error"     ? log::Level::kError
             : level == "warning" ? log::Level::kWarning
                                  : log::Level::kInfo,
             message);
}

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

}  // namespace internal

using internal::CreateDataDir;
using internal::DirLock;
using internal::Fail;
using internal::LockDataDir;
using internal::Log;
using internal::PrepareStartup;
using internal::SplitAddr;
using internal::Startup;
using internal::TlsFilesOf;

namespace {

// Blocking threads on PostgreSQL when SIRR_BLOCKING_THREADS is not set (docs/ha.md).
constexpr int kPostgresBlockingThreads = 64;

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

http::HttpOptions HttpOptionsOf(const ServerConfig& config, const std::string& host, uint16_t port,
                                bool postgres = false) {
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
  // On PostgreSQL a write that replaces a row also waits out the cache lease (docs/ha.md): more
  // blocking threads, so that concurrent writes still share commits. The io threads stay one
  // per CPU as on SQLite: a read the cache cannot serve holds its io thread for a round trip
  // (as a commit does on SQLite), and more io threads than CPUs cost every request a wake-up
  // (docs/benchmarks.md, session 14); SIRR_THREADS raises them for a distant database.
  if (postgres && config.blocking_threads <= 0)
    http_options.blocking_threads = kPostgresBlockingThreads;
  return http_options;
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

// DATA_DIR/audit.log unless SIRR_AUDIT_LOG says.
std::string AuditPathOf(const ServerConfig& config) {
  return config.audit_log.empty() ? (std::filesystem::path(config.data_dir) / "audit.log").string()
                                  : config.audit_log;
}

StatusOr<audit::AuditOptions> AuditOptionsOf(const ServerConfig& config,
                                             const std::string& node_id) {
  audit::AuditOptions options;
  options.allow_special_file = config.audit_allow_special_file;
  options.rotate_bytes = config.audit_rotate_bytes;
  options.rotate_seconds = config.audit_rotate_seconds;
  options.keep = config.audit_keep;
  SIRR_ASSIGN_OR_RETURN(options.sinks,
                        audit::ParseSinks(config.audit_sinks, config.audit_syslog_socket));
  // Several nodes on one database: each keeps its own chain, every record naming the node.
  options.node = node_id;
  return options;
}

// The API settings that come from the configuration alone.
StatusOr<api::ApiOptions> ApiOptionsOf(const ServerConfig& config, SecretBytes admin_token,
                                       std::shared_ptr<const api::JwtVerifier> jwt) {
  api::ApiOptions options;
  std::string public_url = config.public_url;
  while (public_url.ends_with('/')) public_url.pop_back();
  if (!public_url.empty() && !public_url.starts_with("https://") &&
      !public_url.starts_with("http://"))
    return InvalidArgumentError(
        "SIRR_PUBLIC_URL must start with https:// (or http://), e.g. https://vault.example.com");
  options.public_url = std::move(public_url);
  options.admin_token = std::move(admin_token);
  options.version = std::string(Version());
  options.jwt = std::move(jwt);
  options.rate_limits.per_second = config.rate_limit_per_second;
  options.rate_limits.burst = std::max(1.0, config.rate_limit_burst);
  options.rate_limit_admin = config.rate_limit_admin;
  options.log = [](const std::string& m) { Log("info", m); };
  return options;
}

// "http://127.0.0.1:39999", "https://[::1]:8200".
std::string UrlOf(const std::string& host, uint16_t port, bool tls) {
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return std::string(tls ? "https://" : "http://") + h + ":" + std::to_string(port);
}

// The server.start record.
Status AuditStart(audit::AuditLog& audit, std::string detail) {
  audit::Event start;
  start.action = "server.start";
  start.outcome = "success";
  start.detail = std::move(detail);
  return audit.Append(start);
}

// At shutdown: the signal thread (woken if no signal arrived) and the metrics listener.
void JoinThreads(std::thread& signal_thread, std::thread& metrics_thread,
                 http::HttpServer* metrics_server) {
  if (signal_thread.joinable()) {
    pthread_kill(signal_thread.native_handle(), SIGTERM);
    signal_thread.join();
  }
  if (metrics_thread.joinable()) {
    metrics_server->Shutdown();
    metrics_thread.join();
  }
}

int RunServer(const ServerConfig& config) {
  if (Status st = ConfigureLogging(config); !st.ok()) return Fail(st.message());
  sigset_t signals;
  if (Status st = HardenAndBlockSignals(&signals); !st.ok()) return Fail(st.message());
  auto startup = PrepareStartup(config);
  if (!startup.ok()) return Fail(startup.status().message());
  const auto& addr = startup->addr;
  const auto& tls = startup->tls;
  const seal::ProviderConfig& provider = startup->provider;
  auto& next_key = startup->next_key;

  // 2. Storage, the audit log (sealed until it has its key) and the seal.
  auto opened = OpenStorage(config);
  if (!opened.ok()) return Fail(opened.status().message());
  const std::string db_path = opened->where;
  auto* storage = &opened->storage;
  Clock& clock = SystemClock::Get();
  Random& random = crypto::SecureRandom::Get();
  const std::string audit_path = AuditPathOf(config);
  auto audit_options = AuditOptionsOf(config, opened->node_id);
  if (!audit_options.ok()) return Fail(audit_options.status().message());
  audit::AuditLog audit(audit_path, clock, *audit_options);
  // Audit before commit: state changes commit their records into the journal, which feeds
  // the log file (docs/formats.md).
  core::AuditJournal journal(audit);
  (*storage)->SetJournalSink(&journal);
  core::SealKeeper keeper(**storage, audit, clock, random, startup->seal_options);
  if (next_key) {
    if (Status st = keeper.SetNextKey(*next_key); !st.ok()) return Fail(st.message());
    next_key.reset();
  }

  // 3. Unseal with the provider's key: a key that does not match the keyring, or an audit log
  //    that does not continue the recorded chain, stops sirrd (fail-closed).
  auto start_detail = UnsealAtStart(keeper, startup->loaded, db_path);
  if (!start_detail.ok()) return Fail(start_detail.status().message());

  core::SecretLimits limits;
  limits.max_value_bytes = config.max_value_bytes;
  limits.tombstone_retention_ms = config.tombstone_retention_seconds * 1000;
  core::Vaults vaults(**storage, keeper, audit, clock, random);
  core::Tokens tokens(**storage, audit, clock, random);
  core::Secrets secrets(**storage, keeper, vaults, audit, clock, random, limits);
  // A share's ciphertext is the value plus at most 29 bytes of framing (format v1).
  core::Shares shares(**storage, keeper, vaults, audit, clock, random, config.max_value_bytes + 64);
  auto base_options =
      ApiOptionsOf(config, std::move(startup->admin_token), std::move(startup->jwt));
  if (!base_options.ok()) return Fail(base_options.status().message());
  api::ApiOptions api_options = std::move(base_options).value();
  api_options.shares = &shares;
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

  http::HttpOptions http_options = HttpOptionsOf(config, addr.first, addr.second, opened->postgres);
  http_options.tls = tls;
  http_options.trusted_proxies = SplitList(config.trusted_proxies);
  http_options.observer = [&obs](const http::RequestInfo& r) { obs.Observe(r); };
  http_options.in_flight = obs.in_flight();
  obs.Register(**storage, audit, api, keeper, rotation);
  obs.RefreshLiveCounts(**storage, clock.NowMillis());
  auto server =
      http::HttpServer::New(http_options, [&api](const api::Request& r) { return api.Handle(r); });
  if (!server.ok()) return Fail(server.status().message());
  auto metrics_server = MetricsListener(config, obs, tls);
  if (!metrics_server.ok()) return Fail(metrics_server.status().message());

  if (!AuditStart(audit, "provider " + provider.provider + "; " + *start_detail).ok())
    return Fail("audit log " + audit_path + " is not writable");

  const std::string url = UrlOf(addr.first, (*server)->port(), static_cast<bool>(tls));
  Log("info", VersionLine("sirrd") + " listening on " + url + " (" + opened->where + ", audit " +
                  audit_path + ", seal provider " + provider.provider + ")");
  std::thread metrics_thread;
  if (*metrics_server) {
    Log("info", "metrics on " +
                    UrlOf(config.metrics_addr.substr(0, config.metrics_addr.rfind(':')),
                          (*metrics_server)->port(), static_cast<bool>(tls)) +
                    "/metrics (no credential)");
    metrics_thread = std::thread([&] { (*metrics_server)->Run(); });
  }
  if (config.on_listening) config.on_listening((*server)->port());
  if (!config.ready_file.empty()) WriteReadyFile(config.ready_file, url);
  // systemd Type=notify (NOTIFY_SOCKET set): ready once listening and unsealed (or sealed and
  // waiting for the api provider's unseal, which is as ready as it gets without an operator).
  sd_notifyf(0, "READY=1\nSTATUS=listening on %s%s", url.c_str(),
             keeper.sealed() ? " (sealed)" : "");

  std::thread signal_thread(
      [&] { WaitForSignals(signals, config, **server, static_cast<bool>(tls), audit); });

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
  JoinThreads(signal_thread, metrics_thread, metrics_server->get());
  server->reset();
  storage->reset();
  if (!config.ready_file.empty()) std::remove(config.ready_file.c_str());
  Log("info", "stopped cleanly");
  log::Flush();
  return stop_logged.ok() ? 0 : 1;
}

}  // namespace sirr::server

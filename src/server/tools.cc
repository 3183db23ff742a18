// The operator tools of sirrd (server.h): `audit verify`, `audit recover`, `health`, `restore`,
// `pkcs11 wrap`, `migrate-storage`.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>

#include "audit/audit_log.h"
#include "base/clock.h"
#include "crypto/crypto.h"
#include "crypto/hd/bip39.h"
#include "http/health_probe.h"
#include "seal/master_key.h"
#include "seal/providers.h"
#include "server/server.h"
#include "server/server_internal.h"
#include "server/storage_setup.h"
#include "storage/postgres/pg_storage.h"
#include "storage/sqlite/sqlite_storage.h"

namespace sirr::server {

using internal::CreateDataDir;
using internal::Fail;
using internal::LockDataDir;
using internal::Log;
using internal::SplitAddr;

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

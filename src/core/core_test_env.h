#pragma once

// Test-only: a real core (SQLite storage in a temporary directory, audit log, seal keeper,
// vaults, tokens and secrets) on a fake clock and deterministic randomness, for the core unit
// tests.

#include <memory>
#include <string>

#include "base/random.h"
#include "core/audit_journal.h"
#include "core/keys.h"
#include "core/principal.h"
#include "core/seal_keeper.h"
#include "core/secrets.h"
#include "core/tokens.h"
#include "core/vaults.h"
#include "crypto/crypto.h"
#include "storage/sqlite/sqlite_storage.h"
#include "testing/temp_dir.h"

namespace sirr::core::testing {

class CoreEnv {
 public:
  explicit CoreEnv(const char* prefix) : dir_(prefix) {
    storage_ = std::move(storage::SqliteStorage::Open(db_path())).value();
    Make(SealOptions{});
  }

  // (Re)creates the audit log, keeper and services, sealed.
  void Make(SealOptions options) {
    keys_.reset();
    secrets_.reset();
    tokens_.reset();
    vaults_.reset();
    keeper_.reset();
    storage_->SetJournalSink(nullptr);
    journal_.reset();
    audit_ =
        std::make_unique<audit::AuditLog>((dir_ / "audit.log").string(), clock_, audit_options_);
    journal_ = std::make_unique<AuditJournal>(*audit_);
    storage_->SetJournalSink(journal_.get());
    keeper_ = std::make_unique<SealKeeper>(*storage_, *audit_, clock_, random_, std::move(options));
    vaults_ = std::make_unique<Vaults>(*storage_, *keeper_, *audit_, clock_, random_);
    tokens_ = std::make_unique<Tokens>(*storage_, *audit_, clock_, random_);
    secrets_ = std::make_unique<Secrets>(*storage_, *keeper_, *vaults_, *audit_, clock_, random_,
                                         SecretLimits{});
    keys_ = std::make_unique<Keys>(*storage_, *keeper_, *vaults_, *audit_, clock_, random_);
  }

  static PushRequest Req(std::string name, std::string value, std::string vault = "default") {
    PushRequest p;
    p.vault = std::move(vault);
    p.name = std::move(name);
    p.value = SecretBytes::FromString(value);
    return p;
  }
  static RequestContext Ctx(Principal p = Principal::Admin()) {
    return RequestContext{"req", std::move(p), "127.0.0.1"};
  }

  std::string db_path() const { return (dir_ / "db").string(); }
  const sirr::testing::TempDir& dir() const { return dir_; }

  sirr::testing::TempDir dir_;
  FakeClock clock_;
  // Deterministic ids, keys and nonces: a failure replays the same bytes.
  DeterministicRandom random_{0x5152'2017};
  std::unique_ptr<storage::SqliteStorage> storage_;
  audit::AuditOptions audit_options_;  // set before Make to inject audit file faults
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<AuditJournal> journal_;
  std::unique_ptr<SealKeeper> keeper_;
  std::unique_ptr<Vaults> vaults_;
  std::unique_ptr<Tokens> tokens_;
  std::unique_ptr<Secrets> secrets_;
  std::unique_ptr<Keys> keys_;
};

}  // namespace sirr::core::testing

// The Storage contract, run against every backend (issue 20: "one contract, both backends").
// Each backend is a StorageBackend below: how to open a fresh, empty store and how to reopen
// it. Backend-specific behaviour (SQLite files, WAL, migrations from old files) stays in the
// backend's own test file.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

#include "storage/postgres/pg_storage.h"
#include "storage/sqlite/sqlite_storage.h"
#include "storage/storage.h"
#include "storage/storage_test_rows.h"
#include "testing/temp_dir.h"

namespace sirr::storage {
namespace {

struct StorageBackend {
  std::string name;
  // Opens the store at `dir` (the same one again on reopen).
  std::function<StatusOr<std::unique_ptr<Storage>>(const std::filesystem::path& dir)> open;
};

void PrintTo(const StorageBackend& backend, std::ostream* os) { *os << backend.name; }

std::string PrintBackend(const ::testing::TestParamInfo<StorageBackend>& info) {
  return info.param.name;
}

std::string Uuid(char c) { return "00000000-0000-4000-8000-00000000000" + std::string(1, c); }

class StorageContractTest : public ::testing::TestWithParam<StorageBackend> {
 protected:
  void SetUp() override {
    if (GetParam().name == "Postgres" && !testing::PostgresTestUrl())
      GTEST_SKIP() << "SIRR_TEST_DATABASE_URL is not set: run scripts/test-pg-storage.sh "
                      "(ctest Storage.PostgresContract), which starts a private PostgreSQL";
    auto s = GetParam().open(dir_.path());
    ASSERT_TRUE(s.ok()) << s.status();
    db_ = std::move(s).value();
    Status init = testing::InitializeTestInstance(*db_);
    ASSERT_TRUE(init.ok()) << init;
  }
  // Closes and opens the store again: what a write committed must still be there.
  void Reopen() {
    db_.reset();
    auto s = GetParam().open(dir_.path());
    ASSERT_TRUE(s.ok()) << s.status();
    db_ = std::move(s).value();
  }
  static SecretRow Secret(const std::string& id, const std::string& name,
                          std::optional<int64_t> reads = std::nullopt,
                          std::optional<int64_t> expires = std::nullopt) {
    return testing::TestSecret(id, name, reads, expires);
  }
  sirr::testing::TempDir dir_{"sirr-storage"};
  std::unique_ptr<Storage> db_;
};

TEST_P(StorageContractTest, InitializesOnceOnly) {
  auto keyring = db_->ListKeyring();
  ASSERT_EQ(keyring->size(), 1u);
  EXPECT_EQ((*keyring)[0].state, "active");
  KeyringRow key{1, Bytes(8, 9), "active", 1, 1, Bytes(40, 2), {}};
  VaultRow vault{"other", "other", "", 1, Bytes(70, 3), ""};
  EXPECT_EQ(db_->InitializeInstance(key, vault).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(*db_->CountVaults(), 1);
  EXPECT_EQ(db_->GetVault("default", "")->id, "vid");
  EXPECT_EQ(db_->GetVault("vid", "")->name, "default");
  EXPECT_EQ(db_->GetVault("nope", "").status().code(), StatusCode::kNotFound);
}

TEST_P(StorageContractTest, PutConflictsUnlessOverwrite) {
  ASSERT_TRUE(db_->PutSecret(Secret(Uuid('a'), "db/prod"), false, 200).ok());
  EXPECT_EQ(db_->PutSecret(Secret(Uuid('b'), "db/prod"), false, 200).code(),
            StatusCode::kAlreadyExists);
  ASSERT_TRUE(db_->PutSecret(Secret(Uuid('c'), "db/prod"), true, 200).ok());
  EXPECT_EQ(db_->GetSecretMeta("vid", "db/prod")->id, Uuid('c'));
  EXPECT_EQ(db_->GetSecretMeta("vid", Uuid('c'))->name, "db/prod");
  EXPECT_EQ(db_->GetSecretMeta("vid", Uuid('a')).status().code(), StatusCode::kNotFound);
}

// An id match wins over a name match, even when a secret is named like another's id.
TEST_P(StorageContractTest, IdMatchWinsOverNameMatch) {
  ASSERT_TRUE(db_->PutSecret(Secret(Uuid('a'), "first"), false, 200).ok());
  ASSERT_TRUE(db_->PutSecret(Secret(Uuid('b'), Uuid('a')), false, 200).ok());
  EXPECT_EQ(db_->GetSecretMeta("vid", Uuid('a'))->id, Uuid('a'));
  EXPECT_EQ(db_->GetSecretMeta("vid", Uuid('b'))->name, Uuid('a'));
  ASSERT_TRUE(db_->DeleteSecret("vid", Uuid('a')).ok());           // deletes "first"
  EXPECT_EQ(db_->GetSecretMeta("vid", Uuid('a'))->id, Uuid('b'));  // now the name matches
}

// Group commit: concurrent writers each get their own outcome, and one failing write does
// not undo the others committed with it.
TEST_P(StorageContractTest, ConcurrentWritesKeepTheirOwnOutcome) {
  constexpr int kThreads = 16, kPerThread = 40;
  std::atomic<int> ok{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Every thread also tries one name another thread owns: exactly one of those wins.
        std::string name = i == 0 ? "shared" : "t" + std::to_string(t) + "/" + std::to_string(i);
        char id[37];
        std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%06d%06d", t, i);
        Status st = db_->PutSecret(Secret(id, name), false, 200);
        if (st.ok())
          ++ok;
        else if (st.code() == StatusCode::kAlreadyExists)
          ++conflicts;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(conflicts.load(), kThreads - 1);
  EXPECT_EQ(ok.load(), kThreads * (kPerThread - 1) + 1);
  for (int t = 0; t < kThreads; ++t)
    for (int i = 1; i < kPerThread; ++i)
      ASSERT_TRUE(
          db_->GetSecretMeta("vid", "t" + std::to_string(t) + "/" + std::to_string(i)).ok());
  // Reopening shows the same rows: they were committed, not just visible in-process.
  Reopen();
  EXPECT_TRUE(db_->GetSecretMeta("vid", "shared").ok());
  EXPECT_TRUE(db_->GetSecretMeta("vid", "t15/39").ok());
}

// Cached secret reads never outlive a write: overwrite, delete and expiry are seen at once.
TEST_P(StorageContractTest, SecretCacheFollowsWritesAndExpiry) {
  SecretRow a = Secret(Uuid('a'), "cached", std::nullopt, 1000);
  ASSERT_TRUE(db_->PutSecret(a, false, 100).ok());
  ASSERT_EQ(db_->ReadSecret("vid", "cached", 200)->value, (Bytes{1, 2, 3}));  // fills the cache
  ASSERT_EQ(db_->ReadSecret("vid", "cached", 201)->value, (Bytes{1, 2, 3}));  // from the cache
  SecretRow b = Secret(Uuid('b'), "cached", std::nullopt, 1000);
  b.value = Bytes{9, 9};
  ASSERT_TRUE(db_->PutSecret(b, true, 300).ok());
  EXPECT_EQ(db_->ReadSecret("vid", "cached", 301)->value, (Bytes{9, 9}));
  EXPECT_EQ(db_->ReadSecret("vid", "cached", 302)->id, Uuid('b'));
  auto expired = db_->ReadSecret("vid", "cached", 1000);  // the instant of expiry
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(expired->state, SecretState::kExpired);
  EXPECT_TRUE(expired->value.empty());
  ASSERT_TRUE(db_->PutSecret(Secret(Uuid('c'), "other"), false, 100).ok());
  ASSERT_TRUE(db_->ReadSecret("vid", "other", 200).ok());
  ASSERT_TRUE(db_->DeleteSecret("vid", "other").ok());
  EXPECT_EQ(db_->ReadSecret("vid", "other", 201).status().code(), StatusCode::kNotFound);
}

// A cached key row disappears with the key.
TEST_P(StorageContractTest, KeyCacheFollowsWrites) {
  KeyRow k{Uuid('e'),     "vid", "signer",     "",           "Ed25519",   "asymmetric",
           "sign/verify", 1,     Bytes(32, 4), Bytes(80, 5), std::nullopt};
  ASSERT_TRUE(db_->CreateKey(k).ok());
  ASSERT_EQ(db_->GetKey("vid", "signer", true)->material, Bytes(80, 5));  // now cached
  EXPECT_TRUE(db_->GetKey("vid", "signer", false)->material.empty());
  ASSERT_TRUE(db_->DeleteKey("vid", Uuid('e')).ok());
  EXPECT_EQ(db_->GetKey("vid", "signer", true).status().code(), StatusCode::kNotFound);
}

// BIP39 index allocation: concurrent callers get distinct, consecutive indices, and the last
// one handed out is what a fresh read reports.
TEST_P(StorageContractTest, HdIndicesAreUniqueUnderConcurrency) {
  KeyRow k{Uuid('d'),     "vid", "wallet",    "",           "BIP39",     "asymmetric",
           "sign/verify", 1,     Bytes(4, 4), Bytes(80, 5), std::nullopt};
  ASSERT_TRUE(db_->CreateKey(k).ok());
  EXPECT_FALSE(db_->GetKey("vid", "wallet", false)->hd_last_index.has_value());
  std::mutex mu;
  std::vector<int64_t> got;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto index = db_->NextHdIndex("vid", Uuid('d'));
        ASSERT_TRUE(index.ok());
        std::lock_guard lock(mu);
        got.push_back(*index);
      }
    });
  for (auto& th : threads) th.join();
  std::sort(got.begin(), got.end());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], static_cast<int64_t>(i));
  EXPECT_EQ(*db_->GetKey("vid", "wallet", false)->hd_last_index, 199);
  EXPECT_EQ(db_->NextHdIndex("vid", Uuid('f')).status().code(), StatusCode::kNotFound);
}

// The vault cache never serves a deleted or renamed-away vault.
TEST_P(StorageContractTest, VaultCacheFollowsWrites) {
  VaultRow v{"00000000-0000-4000-8000-0000000000f1", "cached", "", 1, Bytes(70, 3), ""};
  ASSERT_TRUE(db_->CreateVault(v, "").ok());
  ASSERT_TRUE(db_->GetVault("cached", "").ok());  // now cached
  ASSERT_TRUE(db_->ShredVaultKey(v.id).ok());
  EXPECT_TRUE(db_->GetVault("cached", "")->wrapped_key.empty());
  ASSERT_TRUE(db_->DeleteVault(v.id).ok());
  EXPECT_EQ(db_->GetVault("cached", "").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(db_->GetVault(v.id, "").status().code(), StatusCode::kNotFound);
}

TEST_P(StorageContractTest, ExpiredOrBurnedNameCanBeReused) {
  ASSERT_TRUE(db_->PutSecret(Secret("a", "x", std::nullopt, 150), false, 100).ok());
  EXPECT_TRUE(db_->PutSecret(Secret("b", "x"), false, 200).ok());  // "a" expired at 150
}

TEST_P(StorageContractTest, ReadLimitBurnsOnLastRead) {
  ASSERT_TRUE(db_->PutSecret(Secret("a", "x", 2), false, 100).ok());
  auto r1 = db_->ReadSecret("vid", "x", 110);
  EXPECT_EQ(*r1->reads_remaining, 1);
  EXPECT_FALSE(r1->value.empty());
  auto r2 = db_->ReadSecret("vid", "x", 120);
  EXPECT_EQ(*r2->reads_remaining, 0);
  EXPECT_FALSE(r2->value.empty());
  auto r3 = db_->ReadSecret("vid", "x", 130);
  EXPECT_EQ(r3->state, SecretState::kBurned);
  EXPECT_TRUE(r3->value.empty());
  EXPECT_EQ(db_->GetSecretMeta("vid", "x")->state, SecretState::kBurned);
}

TEST_P(StorageContractTest, ReadAtExpiryMarksExpiredAndDestroysValue) {
  ASSERT_TRUE(db_->PutSecret(Secret("a", "x", std::nullopt, 150), false, 100).ok());
  EXPECT_EQ(db_->ReadSecret("vid", "x", 149)->state, SecretState::kLive);
  auto r = db_->ReadSecret("vid", "x", 150);
  EXPECT_EQ(r->state, SecretState::kExpired);
  EXPECT_TRUE(r->value.empty());
}

TEST_P(StorageContractTest, SweeperExpiresThenPurgesTombstones) {
  ASSERT_TRUE(db_->PutSecret(Secret("a", "x", std::nullopt, 150), false, 100).ok());
  ASSERT_TRUE(db_->PutSecret(Secret("b", "y"), false, 100).ok());
  EXPECT_TRUE(db_->ExpireDue(140, 10)->empty());
  auto expired = db_->ExpireDue(160, 10);
  ASSERT_EQ(expired->size(), 1u);
  EXPECT_EQ((*expired)[0].name, "x");
  EXPECT_EQ(*db_->PurgeTombstones(159), 0);
  EXPECT_EQ(*db_->PurgeTombstones(160), 1);
  EXPECT_EQ(db_->GetSecretMeta("vid", "x").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(db_->GetSecretMeta("vid", "y").ok());
}

TEST_P(StorageContractTest, ListFiltersAndPaginates) {
  for (int i = 0; i < 7; ++i) {
    auto s = Secret("id" + std::to_string(i), "app/" + std::to_string(i));
    s.type = i % 2 ? "odd" : "even";
    ASSERT_TRUE(db_->PutSecret(s, false, 100).ok());
  }
  ASSERT_TRUE(db_->PutSecret(Secret("z", "zzz%"), false, 100).ok());
  ASSERT_TRUE(db_->PutSecret(Secret("e", "app/expired", std::nullopt, 150), false, 100).ok());
  SecretFilter f;
  f.prefix = "app/";
  f.limit = 3;
  auto page = db_->ListSecrets("vid", f, 200);
  EXPECT_EQ(page->total, 7);
  ASSERT_EQ(page->rows.size(), 3u);
  EXPECT_EQ(page->rows[0].name, "app/0");
  EXPECT_TRUE(page->rows[0].value.empty());
  f.offset = 6;
  EXPECT_EQ(db_->ListSecrets("vid", f, 200)->rows.size(), 1u);
  f = SecretFilter();
  f.type = "odd";
  EXPECT_EQ(db_->ListSecrets("vid", f, 200)->total, 3);
  f = SecretFilter();
  f.prefix = "zzz%";
  EXPECT_EQ(db_->ListSecrets("vid", f, 200)->total, 1);
  f.prefix = "%";
  EXPECT_EQ(db_->ListSecrets("vid", f, 200)->total, 0);
}

TEST_P(StorageContractTest, DeleteRemovesAnyState) {
  ASSERT_TRUE(db_->PutSecret(Secret("a", "x", 1), false, 100).ok());
  ASSERT_TRUE(db_->ReadSecret("vid", "x", 100).ok());
  EXPECT_EQ(db_->DeleteSecret("vid", "x")->id, "a");
  EXPECT_EQ(db_->DeleteSecret("vid", "x").status().code(), StatusCode::kNotFound);
}

// N parallel reads of a one-read secret yield exactly one value.
TEST_P(StorageContractTest, ConcurrentReadsOfOneReadSecretYieldExactlyOneValue) {
  for (int round = 0; round < 3; ++round) {
    std::string name = "once" + std::to_string(round);
    ASSERT_TRUE(db_->PutSecret(Secret("id-" + name, name, 1), false, 100).ok());
    std::atomic<int> values{0}, burned{0}, errors{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 200; ++i) {
      threads.emplace_back([&] {
        auto r = db_->ReadSecret("vid", name, 100);
        if (!r.ok())
          ++errors;
        else if (r->state == SecretState::kLive && !r->value.empty())
          ++values;
        else if (r->state == SecretState::kBurned)
          ++burned;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(values.load(), 1);
    EXPECT_EQ(burned.load(), 199);
    EXPECT_EQ(errors.load(), 0);
  }
}

TEST_P(StorageContractTest, AuditHeadRoundTripsAndPersists) {
  EXPECT_FALSE(*db_->LoadAuditHead());
  ASSERT_TRUE(db_->SaveAuditHead(5, Bytes(32, 7)).ok());
  ASSERT_TRUE(db_->SaveAuditHead(6, Bytes(32, 8)).ok());
  Reopen();
  auto head = *db_->LoadAuditHead();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->first, 6);
  EXPECT_EQ(head->second, Bytes(32, 8));
}

TEST_P(StorageContractTest, VaultNamesAreUniquePerOwner) {
  VaultRow a{"a1", "prod", "", 2, Bytes(70, 4), "organization:o1"};
  VaultRow b{"b1", "prod", "", 2, Bytes(70, 4), "organization:o2"};
  ASSERT_TRUE(db_->CreateVault(a, "").ok());
  ASSERT_TRUE(db_->CreateVault(b, "").ok());
  VaultRow dup{"a2", "prod", "", 2, Bytes(70, 4), "organization:o1"};
  EXPECT_EQ(db_->CreateVault(dup, "").code(), StatusCode::kAlreadyExists);
  // Names resolve only in the given namespace; ids in any.
  EXPECT_EQ(db_->GetVault("prod", "organization:o2")->id, "b1");
  EXPECT_EQ(db_->GetVault("prod", "").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(db_->GetVault("a1", "")->owner, "organization:o1");

  VaultScope scope;
  scope.owner = "organization:o1";
  auto page = db_->ListVaults(scope, 0, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->total, 1);
  EXPECT_EQ(page->rows[0].id, "a1");
  EXPECT_TRUE(page->rows[0].wrapped_key.empty());
  VaultScope ids;
  ids.ids = {"b1", "vid"};
  EXPECT_EQ(db_->ListVaults(ids, 0, 10)->total, 2);
  VaultScope all;
  all.everything = true;
  EXPECT_EQ(db_->ListVaults(all, 0, 10)->total, 3);
  EXPECT_EQ(db_->ListVaults(all, 2, 10)->rows.size(), 1u);
}

TEST_P(StorageContractTest, TokensStoreHashesScopesAndCountUses) {
  TokenRow t;
  t.id = "t1";
  t.name = "ci";
  t.hash = Bytes(32, 7);
  t.capabilities = "secrets:read";
  t.vault_ids = {"vid"};
  t.created_at = 5;
  t.created_by = "admin";
  t.max_uses = 2;
  ASSERT_TRUE(db_->CreateToken(t).ok());
  auto found = db_->FindTokenByHash(Bytes(32, 7));
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->id, "t1");
  EXPECT_EQ(found->vault_ids, std::vector<std::string>{"vid"});
  EXPECT_EQ(db_->FindTokenByHash(Bytes(32, 8)).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(*db_->ConsumeTokenUse("t1"));
  EXPECT_TRUE(*db_->ConsumeTokenUse("t1"));
  EXPECT_FALSE(*db_->ConsumeTokenUse("t1"));
  EXPECT_EQ(db_->GetToken("t1")->uses, 2);
  ASSERT_TRUE(db_->RevokeToken("t1", 9).ok());
  ASSERT_TRUE(db_->RevokeToken("t1", 10).ok());
  EXPECT_EQ(db_->GetToken("t1")->revoked_at, 9);
  EXPECT_EQ(db_->RevokeToken("nope", 9).code(), StatusCode::kNotFound);
  // Deleting a vault removes the grants for it.
  ASSERT_TRUE(db_->DeleteVault("vid").ok());
  EXPECT_TRUE(db_->GetToken("t1")->vault_ids.empty());
  EXPECT_EQ(db_->ListTokens()->size(), 1u);
}

// Client-side payloads: the content type and a share's proof hash come back as stored.
TEST_P(StorageContractTest, ContentTypeAndAccessHashRoundTrip) {
  SecretRow s = Secret(Uuid('a'), "age", 1);
  s.content_type = "application/age";
  s.access_hash = Bytes(32, 9);
  ASSERT_TRUE(db_->PutSecret(s, false, 100).ok());
  auto meta = db_->GetSecretMeta("vid", "age");
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->content_type, "application/age");
  EXPECT_EQ(meta->access_hash, Bytes(32, 9));
  ASSERT_TRUE(db_->PutSecret(Secret(Uuid('b'), "plain"), false, 100).ok());
  EXPECT_EQ(db_->GetSecretMeta("vid", "plain")->content_type, "");
  EXPECT_TRUE(db_->GetSecretMeta("vid", "plain")->access_hash.empty());
  auto page = db_->ListSecrets("vid", {}, 100);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->rows.size(), 2u);
  EXPECT_EQ(page->rows[0].content_type, "application/age");
}

// Master-key rotation's compare-and-swap: a vault key is replaced only where it still holds
// the wrapped key the rotation read; a vault shredded meanwhile stays shredded.
TEST_P(StorageContractTest, RewrapIsACompareAndSwap) {
  VaultRow other{"v2", "other", "", 1, Bytes(70, 4), ""};
  ASSERT_TRUE(db_->CreateVault(other, "").ok());
  VaultRow gone{"v3", "gone", "", 1, Bytes(70, 5), ""};
  ASSERT_TRUE(db_->CreateVault(gone, "").ok());
  ASSERT_TRUE(db_->ShredVaultKey("v3").ok());
  auto n = db_->RewrapVaultKeys({{"vid", Bytes(70, 3), Bytes(70, 6)},   // matches
                                 {"v2", Bytes(70, 9), Bytes(70, 7)},    // stale old value
                                 {"v3", Bytes(70, 5), Bytes(70, 8)}});  // shredded
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(db_->GetVault("vid", "")->wrapped_key, Bytes(70, 6));
  EXPECT_EQ(db_->GetVault("v2", "")->wrapped_key, Bytes(70, 4));
  EXPECT_TRUE(db_->GetVault("v3", "")->wrapped_key.empty());
}

// Crypto-shredding: the wrapped vault key is overwritten, then the vault and everything in it
// are deleted; nothing of it can be read back.
TEST_P(StorageContractTest, ShreddingOverwritesTheKeyThenDeletesTheRows) {
  VaultRow v{"shred", "shred", "", 1, Bytes(70, 4), ""};
  ASSERT_TRUE(db_->CreateVault(v, "").ok());
  SecretRow s = Secret(Uuid('s'), "doomed");
  s.vault_id = "shred";
  ASSERT_TRUE(db_->PutSecret(s, false, 100).ok());
  ASSERT_TRUE(db_->ShredVaultKey("shred").ok());
  EXPECT_TRUE(db_->GetVault("shred", "")->wrapped_key.empty());
  auto removed = db_->DeleteVault("shred");
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 1);
  EXPECT_EQ(db_->GetVault("shred", "").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(db_->GetSecretMeta("shred", "doomed").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(db_->ShredVaultKey("shred").code(), StatusCode::kNotFound);
}

// sirrd's own vaults (owner "system:…") are never listed, whatever the scope.
TEST_P(StorageContractTest, SystemVaultsAreNeverListed) {
  VaultRow sys{"sys", "shares", "", 1, Bytes(70, 4), "system:shares"};
  ASSERT_TRUE(db_->CreateVault(sys, "").ok());
  auto all = db_->ListVaults(VaultScope{true, std::nullopt, {"sys"}}, 0, 100);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->total, 1);
  for (const auto& v : all->rows) EXPECT_NE(v.id, "sys");
  EXPECT_EQ(db_->GetVault("shares", "system:shares")->id, "sys");  // found when asked for
}

const StorageBackend kSqlite{
    "SQLite", [](const std::filesystem::path& dir) -> StatusOr<std::unique_ptr<Storage>> {
      auto s = SqliteStorage::Open((dir / "sirr.db").string());
      if (!s.ok()) return s.status();
      return std::unique_ptr<Storage>(std::move(*s));
    }};

// A fresh database per test on the server SIRR_TEST_DATABASE_URL names (its password from
// PGPASSFILE), named after the test's directory so that Reopen() finds the same one.
const StorageBackend kPostgres{
    "Postgres", [](const std::filesystem::path& dir) -> StatusOr<std::unique_ptr<Storage>> {
      SIRR_ASSIGN_OR_RETURN(std::string url, testing::PostgresTestDatabase(dir.string()));
      PostgresOptions options;
      options.connect.url = url;
      options.pool = 4;
      options.node_id = "node-a";
      auto s = PostgresStorage::Open(options);
      if (!s.ok()) return s.status();
      return std::unique_ptr<Storage>(std::move(*s));
    }};

INSTANTIATE_TEST_SUITE_P(Backends, StorageContractTest, ::testing::Values(kSqlite, kPostgres),
                         PrintBackend);

}  // namespace
}  // namespace sirr::storage

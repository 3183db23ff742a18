#include "storage/sqlite/sqlite_storage.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "testing/temp_dir.h"

namespace sirr::storage {
namespace {

class SqliteStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = SqliteStorage::Open((dir_ / "sirr.db").string());
    ASSERT_TRUE(s.ok()) << s.status();
    db_ = std::move(s).value();
    KeyringRow key{1, Bytes(8, 1), "active", 1, 1, Bytes(40, 2), {}};
    VaultRow vault{"vid", "default", "", 1, Bytes(70, 3), ""};
    ASSERT_TRUE(db_->InitializeInstance(key, vault).ok());
  }
  SecretRow Secret(const std::string& id, const std::string& name,
                   std::optional<int64_t> reads = std::nullopt,
                   std::optional<int64_t> expires = std::nullopt) {
    SecretRow r;
    r.id = id;
    r.vault_id = "vid";
    r.name = name;
    r.created_at = 100;
    r.expires_at = expires;
    r.max_reads = reads;
    r.reads_remaining = reads;
    r.value = Bytes{1, 2, 3};
    return r;
  }
  sirr::testing::TempDir dir_{"sirr-sqlite"};
  std::unique_ptr<SqliteStorage> db_;
};

TEST_F(SqliteStorageTest, InitializesOnceOnly) {
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
  EXPECT_EQ(SqliteStorage::SchemaVersion(), 8);
}

// A schema version this build does not know (a negative one crashed Migrate before) is
// refused with one clear error; the file is not touched.
TEST(SqliteStorageOpenTest, RefusesUnknownSchemaVersions) {
  sirr::testing::TempDir dir{"sirr-schema"};
  for (int version : {-1, -2147483647, SqliteStorage::SchemaVersion() + 1}) {
    const std::string path = (dir / ("v" + std::to_string(version) + ".db")).string();
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const std::string pragma = "PRAGMA user_version = " + std::to_string(version);
    ASSERT_EQ(sqlite3_exec(db, pragma.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    auto opened = SqliteStorage::Open(path);
    EXPECT_EQ(opened.status().code(), StatusCode::kFailedPrecondition) << version;
    EXPECT_NE(opened.status().message().find("schema version " + std::to_string(version)),
              std::string::npos)
        << opened.status().message();
  }
}

TEST(SqliteStorageOpenTest, RefusesAWalWithoutItsDatabase) {
  sirr::testing::TempDir dir{"sirr-wal"};
  const std::string path = (dir / "sirr.db").string();
  std::ofstream(path + "-wal") << "earlier write-ahead log";
  auto opened = SqliteStorage::Open(path);
  EXPECT_EQ(opened.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(std::filesystem::exists(path));
}

// Secret and key ids are UUIDs; lookups by id only consider UUID-shaped references.
std::string Uuid(char c) { return "00000000-0000-4000-8000-00000000000" + std::string(1, c); }

TEST_F(SqliteStorageTest, PutConflictsUnlessOverwrite) {
  ASSERT_TRUE(db_->PutSecret(Secret(Uuid('a'), "db/prod"), false, 200).ok());
  EXPECT_EQ(db_->PutSecret(Secret(Uuid('b'), "db/prod"), false, 200).code(),
            StatusCode::kAlreadyExists);
  ASSERT_TRUE(db_->PutSecret(Secret(Uuid('c'), "db/prod"), true, 200).ok());
  EXPECT_EQ(db_->GetSecretMeta("vid", "db/prod")->id, Uuid('c'));
  EXPECT_EQ(db_->GetSecretMeta("vid", Uuid('c'))->name, "db/prod");
  EXPECT_EQ(db_->GetSecretMeta("vid", Uuid('a')).status().code(), StatusCode::kNotFound);
}

// An id match wins over a name match, even when a secret is named like another's id.
TEST_F(SqliteStorageTest, IdMatchWinsOverNameMatch) {
  ASSERT_TRUE(db_->PutSecret(Secret(Uuid('a'), "first"), false, 200).ok());
  ASSERT_TRUE(db_->PutSecret(Secret(Uuid('b'), Uuid('a')), false, 200).ok());
  EXPECT_EQ(db_->GetSecretMeta("vid", Uuid('a'))->id, Uuid('a'));
  EXPECT_EQ(db_->GetSecretMeta("vid", Uuid('b'))->name, Uuid('a'));
  ASSERT_TRUE(db_->DeleteSecret("vid", Uuid('a')).ok());           // deletes "first"
  EXPECT_EQ(db_->GetSecretMeta("vid", Uuid('a'))->id, Uuid('b'));  // now the name matches
}

// Group commit: concurrent writers each get their own outcome, and one failing write does
// not undo the others committed with it.
TEST_F(SqliteStorageTest, ConcurrentWritesKeepTheirOwnOutcome) {
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
  db_.reset();
  auto reopened = SqliteStorage::Open((dir_ / "sirr.db").string());
  ASSERT_TRUE(reopened.ok());
  EXPECT_TRUE((*reopened)->GetSecretMeta("vid", "shared").ok());
  EXPECT_TRUE((*reopened)->GetSecretMeta("vid", "t15/39").ok());
}

// Cached secret reads never outlive a write: overwrite, delete and expiry are seen at once.
TEST_F(SqliteStorageTest, SecretCacheFollowsWritesAndExpiry) {
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
TEST_F(SqliteStorageTest, KeyCacheFollowsWrites) {
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
TEST_F(SqliteStorageTest, HdIndicesAreUniqueUnderConcurrency) {
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
TEST_F(SqliteStorageTest, VaultCacheFollowsWrites) {
  VaultRow v{"00000000-0000-4000-8000-0000000000f1", "cached", "", 1, Bytes(70, 3), ""};
  ASSERT_TRUE(db_->CreateVault(v, "").ok());
  ASSERT_TRUE(db_->GetVault("cached", "").ok());  // now cached
  ASSERT_TRUE(db_->ShredVaultKey(v.id).ok());
  EXPECT_TRUE(db_->GetVault("cached", "")->wrapped_key.empty());
  ASSERT_TRUE(db_->DeleteVault(v.id).ok());
  EXPECT_EQ(db_->GetVault("cached", "").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(db_->GetVault(v.id, "").status().code(), StatusCode::kNotFound);
}

// A key rotation batch replaces the rewrapped vaults' cached rows (by name and by id), only
// where the wrapped key is still the one read, and leaves every other cached row in place
// (reads during a rotation keep their cache); any other write drops the whole cache.
TEST_F(SqliteStorageTest, RewrapReplacesOnlyTheRewrappedVaultsCachedRows) {
  VaultRow v{"00000000-0000-4000-8000-0000000000f2", "rotated", "", 1, Bytes(70, 3), ""};
  ASSERT_TRUE(db_->CreateVault(v, "").ok());
  VaultRow shredded{"00000000-0000-4000-8000-0000000000f3", "shredded", "", 1, Bytes(70, 3), ""};
  ASSERT_TRUE(db_->CreateVault(shredded, "").ok());
  ASSERT_TRUE(db_->ShredVaultKey(shredded.id).ok());
  ASSERT_EQ(db_->GetVault("rotated", "")->wrapped_key, Bytes(70, 3));  // now cached
  ASSERT_EQ(db_->GetVault(v.id, "")->wrapped_key, Bytes(70, 3));
  ASSERT_EQ(db_->GetVault("default", "")->description, "");
  // A change behind the cache's back (another connection) shows whether a row stayed cached.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "sirr.db").c_str(), &raw), SQLITE_OK);
  sqlite3_busy_timeout(raw, 5000);
  ASSERT_EQ(sqlite3_exec(raw, "UPDATE vaults SET description = 'changed' WHERE id = 'vid'", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);

  auto changed = db_->RewrapVaultKeys(
      {{v.id, Bytes(70, 3), Bytes(70, 7)}, {shredded.id, Bytes(70, 3), Bytes(70, 8)}});  // stale
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(*changed, 1);
  EXPECT_TRUE(db_->GetVault("shredded", "")->wrapped_key.empty());
  EXPECT_EQ(db_->GetVault("rotated", "")->wrapped_key, Bytes(70, 7));
  EXPECT_EQ(db_->GetVault(v.id, "")->wrapped_key, Bytes(70, 7));
  EXPECT_EQ(db_->GetVault("default", "")->wrapped_key, Bytes(70, 3));
  EXPECT_EQ(db_->GetVault("default", "")->description, "");  // still the cached row

  ASSERT_TRUE(db_->PutSecret(Secret(Uuid('a'), "any"), false, 100).ok());
  EXPECT_EQ(db_->GetVault("default", "")->description, "changed");
}

TEST_F(SqliteStorageTest, ExpiredOrBurnedNameCanBeReused) {
  ASSERT_TRUE(db_->PutSecret(Secret("a", "x", std::nullopt, 150), false, 100).ok());
  EXPECT_TRUE(db_->PutSecret(Secret("b", "x"), false, 200).ok());  // "a" expired at 150
}

TEST_F(SqliteStorageTest, ReadLimitBurnsOnLastRead) {
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

TEST_F(SqliteStorageTest, ReadAtExpiryMarksExpiredAndDestroysValue) {
  ASSERT_TRUE(db_->PutSecret(Secret("a", "x", std::nullopt, 150), false, 100).ok());
  EXPECT_EQ(db_->ReadSecret("vid", "x", 149)->state, SecretState::kLive);
  auto r = db_->ReadSecret("vid", "x", 150);
  EXPECT_EQ(r->state, SecretState::kExpired);
  EXPECT_TRUE(r->value.empty());
}

TEST_F(SqliteStorageTest, SweeperExpiresThenPurgesTombstones) {
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

TEST_F(SqliteStorageTest, ListFiltersAndPaginates) {
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

TEST_F(SqliteStorageTest, DeleteRemovesAnyState) {
  ASSERT_TRUE(db_->PutSecret(Secret("a", "x", 1), false, 100).ok());
  ASSERT_TRUE(db_->ReadSecret("vid", "x", 100).ok());
  EXPECT_EQ(db_->DeleteSecret("vid", "x")->id, "a");
  EXPECT_EQ(db_->DeleteSecret("vid", "x").status().code(), StatusCode::kNotFound);
}

// N parallel reads of a one-read secret yield exactly one value.
TEST_F(SqliteStorageTest, ConcurrentReadsOfOneReadSecretYieldExactlyOneValue) {
  for (int round = 0; round < 5; ++round) {
    std::string name = "once" + std::to_string(round);
    ASSERT_TRUE(db_->PutSecret(Secret("id-" + name, name, 1), false, 100).ok());
    std::atomic<int> values{0}, burned{0}, errors{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 50; ++i) {
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
    EXPECT_EQ(burned.load(), 49);
    EXPECT_EQ(errors.load(), 0);
  }
}

TEST_F(SqliteStorageTest, AuditHeadRoundTripsAndPersists) {
  EXPECT_FALSE(*db_->LoadAuditHead());
  ASSERT_TRUE(db_->SaveAuditHead(5, Bytes(32, 7)).ok());
  ASSERT_TRUE(db_->SaveAuditHead(6, Bytes(32, 8)).ok());
  db_.reset();
  db_ = std::move(SqliteStorage::Open((dir_ / "sirr.db").string())).value();
  auto head = *db_->LoadAuditHead();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->first, 6);
  EXPECT_EQ(head->second, Bytes(32, 8));
}

TEST_F(SqliteStorageTest, VaultNamesAreUniquePerOwner) {
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

TEST_F(SqliteStorageTest, TokensStoreHashesScopesAndCountUses) {
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

std::string FileBytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST_F(SqliteStorageTest, DeletedVaultLeavesNoCopyInTheDatabaseFiles) {
  const Bytes key_marker(70, 0xA7);
  const Bytes value_marker(64, 0xB9);
  VaultRow v{"shred", "shred", "", 2, key_marker, ""};
  ASSERT_TRUE(db_->CreateVault(v, "").ok());
  SecretRow r = Secret("s1", "x");
  r.vault_id = "shred";
  r.value = value_marker;
  ASSERT_TRUE(db_->PutSecret(r, false, 100).ok());
  ASSERT_TRUE(db_->ShredVaultKey("shred").ok());
  EXPECT_TRUE(db_->GetVault("shred", "")->wrapped_key.empty());
  EXPECT_EQ(*db_->DeleteVault("shred"), 1);
  EXPECT_EQ(db_->DeleteVault("shred").status().code(), StatusCode::kNotFound);
  const std::string key(key_marker.begin(), key_marker.end());
  const std::string value(value_marker.begin(), value_marker.end());
  for (const char* f : {"sirr.db", "sirr.db-wal", "sirr.db-shm"}) {
    std::string bytes = FileBytes(dir_ / f);
    EXPECT_EQ(bytes.find(key), std::string::npos) << f;
    EXPECT_EQ(bytes.find(value), std::string::npos) << f;
  }
}

// A database written by schema version 1 (one global vault namespace, no tokens) keeps its
// vaults and secrets across migration 2, which rebuilds the vaults table.
TEST(SqliteMigrationTest, Version1DatabaseMigratesWithoutLosingSecrets) {
  sirr::testing::TempDir dir("sirr-migrate");
  const std::string path = (dir / "v1.db").string();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const char* v1 = R"SQL(
PRAGMA foreign_keys=ON;
CREATE TABLE keyring (version INTEGER PRIMARY KEY, key_id BLOB NOT NULL UNIQUE,
  state TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  key_check BLOB NOT NULL);
CREATE TABLE vaults (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL, wrapped_key BLOB NOT NULL);
CREATE TABLE secrets (id TEXT PRIMARY KEY,
  vault_id TEXT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE, name TEXT NOT NULL,
  type TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL, expires_at INTEGER, max_reads INTEGER, reads_remaining INTEGER,
  state INTEGER NOT NULL DEFAULT 0, gone_at INTEGER, value BLOB, UNIQUE (vault_id, name));
CREATE INDEX secrets_live_expiry ON secrets(expires_at) WHERE state = 0 AND expires_at IS NOT NULL;
CREATE INDEX secrets_gone ON secrets(gone_at) WHERE state != 0;
CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL,
  mac BLOB NOT NULL);
INSERT INTO keyring VALUES (1, x'0101010101010101', 'active', 1, 1, x'02');
INSERT INTO vaults VALUES ('vid', 'default', 'd', 1, x'0303');
INSERT INTO secrets (id, vault_id, name, created_at, value) VALUES ('s1', 'vid', 'db/prod', 1, x'01');
PRAGMA user_version = 1;
)SQL";
    ASSERT_EQ(sqlite3_exec(db, v1, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto s = SqliteStorage::Open(path);
  ASSERT_TRUE(s.ok()) << s.status();
  auto vault = (*s)->GetVault("default", "");
  ASSERT_TRUE(vault.ok());
  EXPECT_EQ(vault->owner, "");
  EXPECT_EQ(vault->wrapped_key, (Bytes{3, 3}));
  auto secret = (*s)->GetSecretMeta("vid", "db/prod");
  ASSERT_TRUE(secret.ok()) << secret.status();
  // Foreign keys are back on: deleting the vault cascades to its secrets.
  ASSERT_TRUE((*s)->DeleteVault("vid").ok());
  EXPECT_EQ((*s)->GetSecretMeta("vid", "db/prod").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace sirr::storage

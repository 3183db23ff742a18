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

#include "storage/storage_test_rows.h"
#include "testing/temp_dir.h"

namespace sirr::storage {
namespace {

class SqliteStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = SqliteStorage::Open((dir_ / "sirr.db").string());
    ASSERT_TRUE(s.ok()) << s.status();
    db_ = std::move(s).value();
    ASSERT_TRUE(testing::InitializeTestInstance(*db_).ok());
  }
  static SecretRow Secret(const std::string& id, const std::string& name,
                          std::optional<int64_t> reads = std::nullopt,
                          std::optional<int64_t> expires = std::nullopt) {
    return testing::TestSecret(id, name, reads, expires);
  }
  sirr::testing::TempDir dir_{"sirr-sqlite"};
  std::unique_ptr<SqliteStorage> db_;
};

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

// A key rotation batch replaces the rewrapped vaults' cached rows (by name and by id), only
// where the wrapped key is still the one read, and leaves every other cached row in place
// (reads during a rotation keep their cache); any other write drops the whole cache.
TEST_F(SqliteStorageTest, SchemaVersionIsTheNewestMigration) {
  EXPECT_EQ(SqliteStorage::SchemaVersion(), 8);
}

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

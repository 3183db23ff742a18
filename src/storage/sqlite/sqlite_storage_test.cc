#include "storage/sqlite/sqlite_storage.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
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
    KeyringRow key{1, Bytes(8, 1), "active", 1, 1, Bytes(40, 2)};
    VaultRow vault{"vid", "default", "", 1, Bytes(70, 3)};
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
  KeyringRow key{1, Bytes(8, 9), "active", 1, 1, Bytes(40, 2)};
  VaultRow vault{"other", "other", "", 1, Bytes(70, 3)};
  EXPECT_EQ(db_->InitializeInstance(key, vault).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(*db_->CountVaults(), 1);
  EXPECT_EQ(db_->GetVault("default")->id, "vid");
  EXPECT_EQ(db_->GetVault("vid")->name, "default");
  EXPECT_EQ(db_->GetVault("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(SqliteStorage::SchemaVersion(), 1);
}

TEST_F(SqliteStorageTest, PutConflictsUnlessOverwrite) {
  ASSERT_TRUE(db_->PutSecret(Secret("a", "db/prod"), false, 200).ok());
  EXPECT_EQ(db_->PutSecret(Secret("b", "db/prod"), false, 200).code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(db_->PutSecret(Secret("c", "db/prod"), true, 200).ok());
  EXPECT_EQ(db_->GetSecretMeta("vid", "db/prod")->id, "c");
  EXPECT_EQ(db_->GetSecretMeta("vid", "c")->name, "db/prod");
  EXPECT_EQ(db_->GetSecretMeta("vid", "a").status().code(), StatusCode::kNotFound);
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

}  // namespace
}  // namespace sirr::storage

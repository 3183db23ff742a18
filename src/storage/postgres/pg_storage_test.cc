// PostgresStorage beyond the shared contract (storage_contract_test.cc): several nodes on one
// database (caches, journals, job locks), migrations under concurrency, a newer schema, a lost
// connection. Needs SIRR_TEST_DATABASE_URL (scripts/test-pg-storage.sh starts a private server).

#include "storage/postgres/pg_storage.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

#include "storage/storage_test_rows.h"

namespace sirr::storage {
namespace {

class PostgresStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::PostgresTestUrl())
      GTEST_SKIP() << "SIRR_TEST_DATABASE_URL is not set: run scripts/test-pg-storage.sh";
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    auto url = testing::PostgresTestDatabase(std::string("pg.") + info->name());
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
  }
  StatusOr<std::unique_ptr<PostgresStorage>> Node(const std::string& id, int writers = 2) {
    PostgresOptions o;
    o.connect.url = url_;
    o.connect.application_name = "sirr-test-" + id;
    o.pool = 2;
    o.writers = writers;
    o.node_id = id;
    return PostgresStorage::Open(o);
  }
  // Node "a" on an initialised instance, handing its audit records to `sink`.
  StatusOr<std::unique_ptr<PostgresStorage>> InstanceNode(JournalSink* sink) {
    SIRR_ASSIGN_OR_RETURN(auto node, Node("a"));
    SIRR_RETURN_IF_ERROR(testing::InitializeTestInstance(*node));
    node->SetJournalSink(sink);
    return node;
  }
  StatusOr<std::unique_ptr<PgConnection>> Admin() {
    return PgConnection::Connect({url_, nullptr, "sirr-test"});
  }
  // The cross-node cache epoch (advanced by writes that may change cached rows).
  int64_t Epoch(PgConnection& admin) {
    auto r = admin.Query("SELECT last_value FROM sirr_epoch");
    return r.ok() ? r->Int(0, 0) : -1;
  }
  std::string url_;
};

TEST_F(PostgresStorageTest, NodesStartingTogetherMigrateOnce) {
  std::vector<std::thread> threads;
  std::vector<Status> results(6);
  for (int i = 0; i < 6; ++i)
    threads.emplace_back([&, i] { results[i] = Node("n" + std::to_string(i)).status(); });
  for (auto& t : threads) t.join();
  for (const Status& st : results) EXPECT_TRUE(st.ok()) << st;
  auto admin = Admin();
  ASSERT_TRUE(admin.ok());
  auto r = (*admin)->Query("SELECT count(*), max(version) FROM sirr_schema");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->Int(0, 0), 1);
  EXPECT_EQ(r->Int(0, 1), PostgresStorage::SchemaVersion());
}

TEST_F(PostgresStorageTest, NewerSchemaIsRefusedAndLeftAlone) {
  ASSERT_TRUE(Node("a").ok());
  auto admin = Admin();
  ASSERT_TRUE((*admin)->Exec("UPDATE sirr_schema SET version = 99").ok());
  auto again = Node("a");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(again.status().message().find("schema version 99 is newer"), std::string::npos)
      << again.status();
  auto r = (*admin)->Query("SELECT version FROM sirr_schema");
  EXPECT_EQ(r->Int(0, 0), 99);
}

TEST_F(PostgresStorageTest, WrongPasswordAndMissingDatabaseAreOneLine) {
  PostgresOptions o;
  o.node_id = "a";
  o.connect.url = url_.substr(0, url_.rfind('/') + 1) + "no_such_database";
  auto missing = PostgresStorage::Open(o);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(missing.status().message().find("does not exist"), std::string::npos)
      << missing.status();
  EXPECT_EQ(missing.status().message().find('\n'), std::string::npos);
  o.connect.url = url_;
  o.connect.password = std::make_shared<SecretBytes>(SecretBytes::FromString("wrong-password"));
  auto bad = PostgresStorage::Open(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("password authentication failed"), std::string::npos)
      << bad.status();
  EXPECT_EQ(bad.status().message().find("wrong-password"), std::string::npos);
}

TEST_F(PostgresStorageTest, CachesNeverServeWhatAnotherNodeChanged) {
  auto a = Node("a");
  auto b = Node("b");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(testing::InitializeTestInstance(**a).ok());
  SecretRow v1 = testing::TestSecret("00000000-0000-4000-8000-000000000001", "db");
  ASSERT_TRUE((*a)->PutSecret(v1, false, 200).ok());
  // B reads (and caches) the vault and the secret.
  ASSERT_TRUE((*b)->GetVault("default", "").ok());
  ASSERT_EQ((*b)->ReadSecret("vid", "db", 300)->value, (Bytes{1, 2, 3}));
  ASSERT_EQ((*b)->ReadSecret("vid", "db", 300)->value, (Bytes{1, 2, 3}));
  // Overwritten through A: B serves the new value at once.
  SecretRow v2 = testing::TestSecret("00000000-0000-4000-8000-000000000002", "db");
  v2.value = Bytes{4, 5, 6};
  ASSERT_TRUE((*a)->PutSecret(v2, true, 300).ok());
  EXPECT_EQ((*b)->ReadSecret("vid", "db", 400)->value, (Bytes{4, 5, 6}));
  // Deleted through A: gone on B.
  ASSERT_TRUE((*a)->DeleteSecret("vid", "db").ok());
  EXPECT_EQ((*b)->ReadSecret("vid", "db", 500).status().code(), StatusCode::kNotFound);
  // A vault shredded through A: B sees the empty wrapped key.
  ASSERT_TRUE((*b)->GetVault("vid", "")->wrapped_key.size() > 0);
  ASSERT_TRUE((*a)->ShredVaultKey("vid").ok());
  EXPECT_TRUE((*b)->GetVault("vid", "")->wrapped_key.empty());
  EXPECT_GT((*b)->metrics().cache_hits.Value(), 0);
}

TEST_F(PostgresStorageTest, EachNodeKeepsItsOwnJournalAndAuditHead) {
  auto a = Node("a");
  auto b = Node("b");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(testing::InitializeTestInstance(**a).ok());
  Journal journal = [](const JournalContext&) {
    return std::vector<JournalEntry>{{0, 5, "\"action\":\"x\""}};
  };
  ASSERT_TRUE((*a)->PutSecret(testing::TestSecret("00000000-0000-4000-8000-00000000000a", "x"),
                              false, 1, journal)
                  .ok());
  ASSERT_TRUE((*b)->PutSecret(testing::TestSecret("00000000-0000-4000-8000-00000000000b", "y"),
                              false, 1, journal)
                  .ok());
  auto ja = (*a)->ReadJournal(0, 10);
  auto jb = (*b)->ReadJournal(0, 10);
  ASSERT_EQ(ja->size(), 1u);
  ASSERT_EQ(jb->size(), 1u);
  // Each node numbers its own rows (its audit file's journal watermark is its own).
  EXPECT_EQ((*ja)[0].id, 1);
  EXPECT_EQ((*jb)[0].id, 1);
  ASSERT_TRUE((*a)->SaveAuditHead(7, Bytes(32, 1), (*ja)[0].id).ok());
  EXPECT_TRUE((*a)->ReadJournal(0, 10)->empty());
  EXPECT_EQ((*b)->ReadJournal(0, 10)->size(), 1u);  // B's rows are B's to purge
  EXPECT_EQ((**(*a)->LoadAuditHead()).first, 7);
  EXPECT_FALSE((*b)->LoadAuditHead()->has_value());
}

// Several write lanes commit concurrently; the audit log must still get every record once, in
// the node's journal order (what crash recovery replays after the last id the file holds).
TEST_F(PostgresStorageTest, LanesHandRecordsToTheSinkInJournalOrder) {
  struct Recorder : JournalSink {
    std::mutex mu;
    std::vector<int64_t> ids;
    Status Ready() override { return OkStatus(); }
    void Committed(std::vector<JournalEntry> entries) override {
      std::lock_guard lock(mu);
      for (const auto& e : entries) ids.push_back(e.id);
    }
  } sink;
  auto a = InstanceNode(&sink);
  ASSERT_TRUE(a.ok()) << a.status();
  Journal journal = [](const JournalContext&) {
    return std::vector<JournalEntry>{{0, 1, "\"action\":\"a\""}, {0, 2, "\"action\":\"b\""}};
  };
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        char id[40];
        std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", t * 100 + i);
        if (!(*a)->PutSecret(testing::TestSecret(id, id), false, 1, journal).ok()) ++failed;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed, 0);
  ASSERT_EQ(sink.ids.size(), 400u);
  for (size_t i = 0; i < sink.ids.size(); ++i) EXPECT_EQ(sink.ids[i], static_cast<int64_t>(i + 1));
  auto rows = (*a)->ReadJournal(0, 1000);
  ASSERT_EQ(rows->size(), 400u);
  EXPECT_EQ(rows->back().id, 400);
  // A restarted node continues after its highest id, even once the rows are purged.
  ASSERT_TRUE((*a)->SaveAuditHead(400, Bytes(32, 1), 400).ok());
  a->reset();
  auto again = Node("a");
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE((*again)
                  ->PutSecret(testing::TestSecret("00000000-0000-4000-8000-999999999999", "last"),
                              false, 1, journal)
                  .ok());
  EXPECT_EQ((*again)->ReadJournal(0, 10)->front().id, 401);
}

// Audit before commit (DESIGN.md §7) on PostgreSQL: while the audit log cannot take records, an
// audited write is refused with Unavailable and changes nothing.
TEST_F(PostgresStorageTest, AuditedWriteIsRefusedWhileTheSinkIsNotReady) {
  struct Closed : JournalSink {
    Status Ready() override { return UnavailableError("audit log is not writable"); }
    void Committed(std::vector<JournalEntry>) override { ADD_FAILURE() << "nothing commits"; }
  } sink;
  auto a = InstanceNode(&sink);
  ASSERT_TRUE(a.ok()) << a.status();
  Journal journal = [](const JournalContext&) {
    return std::vector<JournalEntry>{{0, 1, "\"action\":\"secret.create\""}};
  };
  Status st = (*a)->PutSecret(testing::TestSecret("00000000-0000-4000-8000-00000000000d", "x"),
                              false, 1, journal);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_EQ((*a)->GetSecretMeta("vid", "x").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE((*a)->ReadJournal(0, 10)->empty());
  (*a)->SetJournalSink(nullptr);
}

TEST_F(PostgresStorageTest, OneNodeAtATimeHoldsAJobLock) {
  auto a = Node("a");
  auto b = Node("b");
  ASSERT_TRUE(a.ok() && b.ok());
  auto held = (*a)->LockJob("rotation");
  ASSERT_TRUE(held.ok()) << held.status();
  auto refused = (*b)->LockJob("rotation");
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE((*b)->LockJob("other").ok());
  held->reset();
  EXPECT_TRUE((*b)->LockJob("rotation").ok());
}

TEST_F(PostgresStorageTest, LostConnectionIsUnavailableThenReconnects) {
  auto a = Node("a");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(testing::InitializeTestInstance(**a).ok());
  ASSERT_TRUE((*a)->CountVaults().ok());
  auto admin = Admin();
  ASSERT_TRUE((*admin)
                  ->Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                         "application_name = 'sirr-test-a'")
                  .ok());
  // Each connection finds out on its next use: Unavailable (503), never Internal (500).
  for (int i = 0; i < 3; ++i) {
    Status read = (*a)->CountVaults().status();
    EXPECT_TRUE(read.ok() || read.code() == StatusCode::kUnavailable) << read;
    Status write =
        (*a)->PutSecret(testing::TestSecret("00000000-0000-4000-8000-00000000000c", "z"), true, 1);
    EXPECT_TRUE(write.ok() || write.code() == StatusCode::kUnavailable) << write;
  }
  EXPECT_TRUE((*a)->CountVaults().ok());
  EXPECT_TRUE(
      (*a)->PutSecret(testing::TestSecret("00000000-0000-4000-8000-00000000000c", "z"), true, 1)
          .ok());
  EXPECT_TRUE((*a)->ReadSecret("vid", "z", 2).ok());
}

// Several statements in one round trip: results in order; after a failure the rest are skipped
// with its error; the connection stays usable.
TEST_F(PostgresStorageTest, PipelineRunsInOrderAndStopsAtTheFirstFailure) {
  auto admin = Admin();
  ASSERT_TRUE(admin.ok());
  PgConnection& c = **admin;
  ASSERT_TRUE(c.Exec("CREATE TABLE p (v bigint PRIMARY KEY)").ok());
  PgParams one, two, none;
  one.Add(int64_t{1});
  two.Add(int64_t{2});
  c.BeginWithNext();
  auto results = c.Pipeline({{"INSERT INTO p VALUES ($1) RETURNING v", &one},
                             {"INSERT INTO p VALUES ($1)", &one},  // duplicate key
                             {"INSERT INTO p VALUES ($1)", &two}});
  ASSERT_EQ(results.size(), 3u);
  ASSERT_TRUE(results[0].ok()) << results[0].status();
  EXPECT_EQ(results[0]->Int(0, 0), 1);
  EXPECT_EQ(results[1].status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(results[2].status().code(), StatusCode::kAlreadyExists);  // skipped: same error
  EXPECT_TRUE(c.Rollback().ok());
  EXPECT_FALSE(c.broken());
  // The BEGIN went with the first statement: the rollback undid it.
  EXPECT_EQ(c.Query("SELECT count(*) FROM p")->Int(0, 0), 0);
  // A BEGIN never sent: rolling back sends nothing; COMMIT in a pipeline commits.
  c.BeginWithNext();
  EXPECT_TRUE(c.Rollback().ok());
  c.BeginWithNext();
  results = c.Pipeline({{"INSERT INTO p VALUES ($1)", &two}, {"COMMIT", &none}});
  EXPECT_TRUE(results[0].ok() && results[1].ok());
  EXPECT_EQ(c.Query("SELECT count(*) FROM p")->Int(0, 0), 1);
}

// A batch of writes (queued while the one lane waits on a lock) holding new names, a name taken
// twice, an existing live name, a tombstone and an overwrite: every write gets the outcome it
// would get alone, in some order; only writes that may have changed cached rows advance the
// epoch.
TEST_F(PostgresStorageTest, BatchedPutsKeepEachWritesOutcome) {
  auto a = Node("a", /*writers=*/1);
  auto admin = Admin();
  ASSERT_TRUE(a.ok() && admin.ok());
  ASSERT_TRUE(testing::InitializeTestInstance(**a).ok());
  auto id = [](int n) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012d", n);
    return std::string(buf);
  };
  ASSERT_TRUE((*a)->PutSecret(testing::TestSecret(id(1), "taken"), false, 1).ok());
  ASSERT_TRUE((*a)->PutSecret(testing::TestSecret(id(2), "gone"), false, 1).ok());
  ASSERT_TRUE((*a)->DeleteSecret("vid", "gone").ok());
  std::atomic<int> journaled{0};
  Journal journal = [&](const JournalContext&) {
    ++journaled;
    return std::vector<JournalEntry>{{0, 1, "\"action\":\"secret.create\""}};
  };
  // Only new names: the epoch stays where it is.
  const int64_t before = Epoch(**admin);
  ASSERT_TRUE((*a)->PutSecret(testing::TestSecret(id(3), "fresh"), false, 1, journal).ok());
  EXPECT_EQ(Epoch(**admin), before);
  struct Put {
    int id;
    std::string name;
    bool overwrite;
    Status result;
  };
  // Holds the lane (the first write waits on a table lock, the rest queue behind it), then
  // lets the queued writes commit.
  auto held_batch = [&](std::vector<Put>& puts) {
    ASSERT_TRUE((*admin)->Exec("BEGIN; LOCK TABLE secrets IN EXCLUSIVE MODE").ok());
    std::vector<std::thread> threads;
    for (Put& p : puts)
      threads.emplace_back([&] {
        SecretRow row = testing::TestSecret(id(p.id), p.name);
        row.value = Bytes{static_cast<uint8_t>(p.id)};
        p.result = (*a)->PutSecret(row, p.overwrite, 2, journal);
      });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let them queue (not asserted)
    ASSERT_TRUE((*admin)->Exec("COMMIT").ok());
    for (auto& t : threads) t.join();
  };
  std::vector<Put> puts = {{10, "new-1", false, {}}, {11, "new-2", false, {}},
                           {12, "twice", false, {}}, {13, "twice", false, {}},
                           {14, "taken", false, {}}, {15, "gone", false, {}},
                           {16, "fresh", true, {}},  {17, "both", true, {}},
                           {18, "both", true, {}},   {19, "new-3", false, {}}};
  held_batch(puts);
  int ok = 0;
  for (const Put& p : puts) {
    if (p.name == "twice") continue;
    EXPECT_EQ(p.result.code(), p.name == "taken" ? StatusCode::kAlreadyExists : StatusCode::kOk)
        << p.name << ": " << p.result;
    ok += p.result.ok();
  }
  // Two writes of one new name without overwrite: exactly one wins.
  EXPECT_NE(puts[2].result.ok(), puts[3].result.ok()) << puts[2].result << " / " << puts[3].result;
  ok += puts[2].result.ok() + puts[3].result.ok();
  EXPECT_EQ(ok, 8);
  auto both = (*a)->ReadSecret("vid", "both", 3);
  ASSERT_TRUE(both.ok());
  EXPECT_TRUE(both->value == Bytes{17} || both->value == Bytes{18});
  EXPECT_EQ((*a)->ReadSecret("vid", "gone", 3)->value, Bytes{15});
  EXPECT_EQ((*a)->ReadSecret("vid", "fresh", 3)->value, Bytes{16});
  EXPECT_EQ((*a)->ReadSecret("vid", "taken", 3)->value, (Bytes{1, 2, 3}));
  // One record per write that committed (plus "fresh" above), none for the refused ones.
  EXPECT_EQ((*a)->ReadJournal(0, 100)->size(), 9u);
  // The overwrites and the tombstone replaced rows a node may have cached: the epoch moved.
  EXPECT_GT(Epoch(**admin), before);
  // They did commit together (one batch held several).
  const auto batches = (*a)->metrics().batch_size.Read();
  EXPECT_GT(batches.sum, static_cast<double>(batches.count));

  // Distinct names, one of them taken and one a tombstone: the one-round-trip insert of new
  // secrets fails as a whole and the batch goes the ordinary way, nothing written twice.
  ASSERT_TRUE((*a)->DeleteSecret("vid", "new-1").ok());
  std::vector<Put> mixed = {{20, "new-4", false, {}},
                            {21, "taken", false, {}},
                            {22, "new-1", false, {}},
                            {23, "new-5", false, {}}};
  held_batch(mixed);
  for (const Put& p : mixed)
    EXPECT_EQ(p.result.code(), p.name == "taken" ? StatusCode::kAlreadyExists : StatusCode::kOk)
        << p.name << ": " << p.result;
  EXPECT_EQ((*a)->ReadSecret("vid", "new-1", 3)->value, Bytes{22});
  EXPECT_EQ((*a)->ReadSecret("vid", "new-5", 3)->value, Bytes{23});
  EXPECT_EQ((*a)->ReadJournal(0, 100)->size(), 12u);

  // Only new names, several at once: committed together, the epoch untouched.
  const int64_t epoch = Epoch(**admin);
  std::vector<Put> fresh = {{30, "n-30", false, {}},
                            {31, "n-31", false, {}},
                            {32, "n-32", false, {}},
                            {33, "n-33", false, {}}};
  held_batch(fresh);
  for (const Put& p : fresh) EXPECT_TRUE(p.result.ok()) << p.name << ": " << p.result;
  EXPECT_EQ(Epoch(**admin), epoch);
  EXPECT_EQ((*a)->ReadSecret("vid", "n-33", 3)->value, Bytes{33});
  EXPECT_EQ((*a)->ReadJournal(0, 100)->size(), 16u);
}

}  // namespace
}  // namespace sirr::storage

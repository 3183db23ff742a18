// Key lifecycle through a real sirrd: dual-key rotation under load, kill -9 during rotation,
// the fail-closed restarts, online backup + restore, and Shamir shares with Debian's ssss.

#include <atomic>
#include <random>
#include <set>
#include <sstream>

#include "base/encoding.h"
#include "crypto/crypto.h"
#include "sirrd_fixture.h"

namespace sirr_it {
namespace {

// The fixture's key is 00 01 … 1f; the new key is 20 21 … 3f.
const std::string kNewKeyB64 = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
const std::string kKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

class LifecycleIt : public SirrdTest {
 protected:
  void SetUp() override {
    SirrdTest::SetUp();
    new_key_ = dir_ / "new.key";
    WriteKey(new_key_, kNewKeyB64);
  }
  std::map<std::string, std::string> BothKeys(int batch = 1) {
    return {{"SIRR_KEY_FILE_NEW", new_key_.string()},
            {"SIRR_ROTATION_BATCH", std::to_string(batch)}};
  }
  std::map<std::string, std::string> OnlyNewKey() { return {{"SIRR_KEY_FILE", new_key_.string()}}; }

  // n vaults v0..v{n-1}, each with secret s = "value-<i>".
  void Populate(int n) {
    for (int i = 0; i < n; ++i) {
      const std::string v = "v" + std::to_string(i);
      ASSERT_EQ(Http("POST", "/api/v1/vaults", json{{"name", v}}.dump()).status, 201);
      ASSERT_EQ(Http("POST", "/api/v1/vaults/" + v + "/secrets",
                     json{{"name", "s"}, {"value", "value-" + std::to_string(i)}}.dump())
                    .status,
                201);
    }
  }
  // Every secret of Populate(n) reads back with its value.
  void ExpectAllReadable(int n) {
    for (int i = 0; i < n; ++i) {
      auto r = Http("GET", "/api/v1/vaults/v" + std::to_string(i) + "/secrets/s");
      ASSERT_EQ(r.status, 200) << i << " " << r.body;
      EXPECT_EQ(json::parse(r.body)["value"], "value-" + std::to_string(i));
    }
  }
  json RotationState() { return json::parse(Http("GET", "/api/v1/admin/rotate-keys").body); }
  json WaitForRotation() {
    for (int i = 0; i < 3000; ++i) {
      json st = RotationState();
      if (st["state"] != "running") return st;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return json();
  }

  fs::path new_key_;
};

TEST_F(LifecycleIt, OnlineRotationUnderLoadThenFailClosedRestarts) {
  ASSERT_TRUE(Start());
  const int kVaults = 150;
  Populate(kVaults);
  ASSERT_EQ(Stop(), 0);
  // A key the keyring has never seen is refused without touching anything.
  auto unknown = RunSirrd(OnlyNewKey());
  EXPECT_NE(unknown.code, 0);
  EXPECT_NE(unknown.err.find("does not match this database"), std::string::npos) << unknown.err;

  ASSERT_TRUE(Start(BothKeys(1)));
  auto status = json::parse(Http("GET", "/api/v1/seal-status").body);
  ASSERT_EQ(status["key_versions"].size(), 2u) << status.dump();
  EXPECT_EQ(status["key_versions"][0]["state"], "retiring");
  EXPECT_EQ(status["key_versions"][1]["state"], "active");
  EXPECT_EQ(RotationState()["state"], "idle");

  // Readers and a writer run through the whole rotation.
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, read_failures{0}, writes{0}, write_failures{0};
  std::vector<std::thread> load;
  for (int t = 0; t < 3; ++t)
    load.emplace_back([&, t] {
      sirr::client::Client c(server_, sirr::SecretBytes::FromString(kToken));
      for (int i = t; !stop; i = (i + 7) % kVaults) {
        auto r = c.Do("GET", "/api/v1/vaults/v" + std::to_string(i) + "/secrets/s", "");
        if (!r.ok() || r->status != 200 ||
            json::parse(r->body, nullptr, false).value("value", "") != "value-" + std::to_string(i))
          ++read_failures;
        ++reads;
      }
    });
  load.emplace_back([&] {
    sirr::client::Client c(server_, sirr::SecretBytes::FromString(kToken));
    for (int i = 0; !stop; ++i) {
      auto r =
          c.Do("POST", kSecrets, json{{"name", "w" + std::to_string(i)}, {"value", "x"}}.dump());
      if (!r.ok() || r->status != 201) ++write_failures;
      ++writes;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto started = Http("POST", "/api/v1/admin/rotate-keys", "{}");
  ASSERT_EQ(started.status, 202) << started.body;
  json job = json::parse(started.body);
  EXPECT_EQ(job["total"], kVaults + 1);  // + the default vault
  // A second start while it runs is refused.
  auto again = Http("POST", "/admin/rotate-keys", "{}");
  EXPECT_EQ(again.status, 409) << again.body;
  json done = WaitForRotation();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  stop = true;
  for (auto& th : load) th.join();
  EXPECT_EQ(done["state"], "completed") << done.dump();
  EXPECT_EQ(done["done"], kVaults + 1);
  EXPECT_EQ(done["failed"], 0);
  EXPECT_EQ(done["job_id"], job["job_id"]);
  EXPECT_FALSE(done["finished_at"].is_null());
  EXPECT_GT(reads.load(), 100);
  EXPECT_EQ(read_failures.load(), 0);
  EXPECT_GT(writes.load(), 10);
  EXPECT_EQ(write_failures.load(), 0);
  status = json::parse(Http("GET", "/api/v1/seal-status").body);
  EXPECT_EQ(status["key_versions"][0]["state"], "retired");
  // Non-admin tokens may not rotate.
  auto scoped = json::parse(
      Http("POST", "/api/v1/tokens",
           json{{"name", "r"}, {"capabilities", {"secrets:read"}}, {"vaults", {"*"}}}.dump())
          .body);
  EXPECT_EQ(Http("POST", "/api/v1/admin/rotate-keys", "{}", scoped["token"]).status, 403);
  ASSERT_EQ(Stop(), 0);

  // The audit log records the request, every batch and the end, with key ids.
  const std::string audit = ReadFile(dir_ / "data" / "audit.log");
  EXPECT_NE(audit.find(R"("action":"keys.rotate")"), std::string::npos);
  EXPECT_NE(audit.find(R"("outcome":"requested")"), std::string::npos);
  EXPECT_NE(audit.find(R"("outcome":"progress")"), std::string::npos);
  EXPECT_NE(audit.find(R"("outcome":"completed")"), std::string::npos);
  EXPECT_EQ(audit.find(kNewKeyB64), std::string::npos);

  // The audit chain verifies across the rotation with both keys, and with either one alone:
  // its key is the instance's audit chain key, kept in the keyring wrapped by every version
  // (before schema 7 the old key alone failed here).
  const std::string log_path = (dir_ / "data" / "audit.log").string();
  auto both = RunSirrd(BothKeys(), {"audit", "verify", log_path});
  EXPECT_EQ(both.code, 0) << both.out << both.err;
  EXPECT_NE(both.out.find("OK"), std::string::npos) << both.out;
  auto one = RunSirrd({}, {"audit", "verify", log_path});
  EXPECT_EQ(one.code, 0) << one.out << one.err;
  auto new_only = RunSirrd(OnlyNewKey(), {"audit", "verify", log_path});
  EXPECT_EQ(new_only.code, 0) << new_only.out << new_only.err;
  // Only the old key: fail-closed, naming the version the database moved to.
  auto old_only = RunSirrd({});
  EXPECT_NE(old_only.code, 0);
  EXPECT_NE(old_only.err.find("moved to key version 2"), std::string::npos) << old_only.err;
  // Only the new key: serves every secret.
  ASSERT_TRUE(Start(OnlyNewKey()));
  ExpectAllReadable(kVaults);
}

TEST_F(LifecycleIt, NewKeyAloneBeforeTheRotationFinishesIsRefusedWithTheCount) {
  ASSERT_TRUE(Start());
  Populate(5);
  ASSERT_EQ(Stop(), 0);
  ASSERT_TRUE(Start(BothKeys()));  // adds version 2; nothing rewrapped yet
  ASSERT_EQ(Http("POST", "/api/v1/vaults", R"({"name":"fresh"})").status, 201);  // under v2
  ASSERT_EQ(Stop(), 0);
  auto new_only = RunSirrd(OnlyNewKey());
  EXPECT_NE(new_only.code, 0);
  EXPECT_NE(new_only.err.find("6 vault key(s) are still wrapped by key version 1"),
            std::string::npos)
      << new_only.err;
  auto old_only = RunSirrd({});
  EXPECT_NE(old_only.code, 0);
  EXPECT_NE(old_only.err.find("rotation to key version 2"), std::string::npos) << old_only.err;
  EXPECT_NE(old_only.err.find("1 vault key(s) already use it"), std::string::npos) << old_only.err;
  // Both keys again: everything is readable (old and new wraps side by side).
  ASSERT_TRUE(Start(BothKeys()));
  ExpectAllReadable(5);
  EXPECT_EQ(Http("GET", "/api/v1/vaults/fresh").status, 200);
}

// kill -9 at random moments of a rotation: nothing is ever lost or undecryptable; starting the
// job again resumes and completes it.
TEST_F(LifecycleIt, KillDuringRotationResumes) {
  ASSERT_TRUE(Start());
  const int kVaults = 120;
  Populate(kVaults);
  ASSERT_EQ(Stop(), 0);
  std::mt19937 rng(std::random_device{}());
  int interrupted = 0;
  for (int round = 0; round < 4; ++round) {
    ASSERT_TRUE(Start(BothKeys(1)));
    ExpectAllReadable(kVaults);
    auto started = Http("POST", "/api/v1/admin/rotate-keys", "{}");
    if (started.status == 409) break;  // an earlier round already finished (nothing retiring)
    ASSERT_EQ(started.status, 202) << started.body;
    if (round == 3) break;
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<>(0, 60)(rng)));
    Stop(SIGKILL);
    ++interrupted;
  }
  EXPECT_GE(interrupted, 1);
  json done = WaitForRotation();
  if (done["state"] == "idle") {  // a killed job had already finished before its kill
    auto status = json::parse(Http("GET", "/api/v1/seal-status").body);
    EXPECT_EQ(status["key_versions"][0]["state"], "retired") << status.dump();
  } else {
    EXPECT_EQ(done["state"], "completed") << done.dump();
    EXPECT_EQ(done["failed"], 0);
  }
  ExpectAllReadable(kVaults);
  ASSERT_EQ(Stop(), 0);
  ASSERT_TRUE(Start(OnlyNewKey()));
  ExpectAllReadable(kVaults);
}

TEST_F(LifecycleIt, BackupWhileWritingThenRestoreElsewhere) {
  ASSERT_TRUE(Start());
  Populate(10);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    sirr::client::Client c(server_, sirr::SecretBytes::FromString(kToken));
    for (int i = 0; !stop; ++i)
      (void)c.Do("POST", kSecrets, json{{"name", "w" + std::to_string(i)}, {"value", "x"}}.dump());
  });
  const fs::path backup = dir_ / "backup.db";
  auto r = Cli({"operator", "backup", backup.string()});
  stop = true;
  writer.join();
  ASSERT_EQ(r.code, 0) << r.err;
  struct stat st {};
  ASSERT_EQ(stat(backup.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string bytes = ReadFile(backup);
  const std::string sum = sirr::HexEncode(sirr::crypto::Sha256(sirr::AsBytes(bytes)));
  EXPECT_NE(r.out.find("sha256 " + sum), std::string::npos) << r.out;
  EXPECT_EQ(bytes.find("value-3"), std::string::npos);  // no plaintext values
  EXPECT_NE(bytes.find("v3"), std::string::npos);       // (names are metadata, in clear)
  // Never overwrites.
  EXPECT_NE(Cli({"operator", "backup", backup.string()}).code, 0);
  // Restore refuses while sirrd runs on that data directory.
  auto busy = RunSirrd({}, {"restore", backup.string()});
  EXPECT_NE(busy.code, 0);
  EXPECT_NE(busy.err.find("another sirrd"), std::string::npos) << busy.err;
  ASSERT_EQ(Stop(), 0);

  // Restore into a fresh data directory (another machine): same key, same secrets.
  fs::path other = dir_ / "restored";
  auto restored = RunSirrd({{"SIRR_DATA_DIR", other.string()}}, {"restore", backup.string()});
  ASSERT_EQ(restored.code, 0) << restored.err;
  ASSERT_EQ(stat(other.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u) << "restore creates the data directory 0700";
  // An existing data directory that others may read draws a warning.
  chmod(other.c_str(), 0755);
  ASSERT_TRUE(Start({{"SIRR_DATA_DIR", other.string()}}));
  EXPECT_NE(ReadFile(log_).find("has mode 0755"), std::string::npos) << ReadFile(log_);
  ExpectAllReadable(10);
  ASSERT_EQ(Stop(), 0);
  // A file that is not a Sirr database is refused; the current database is kept on restore.
  WriteKey(dir_ / "junk.db", "not a database", 0600);
  EXPECT_NE(RunSirrd({}, {"restore", (dir_ / "junk.db").string()}).code, 0);
  auto again = RunSirrd({}, {"restore", backup.string()});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.out.find("pre-restore"), std::string::npos) << again.out;
}

// The online backup used to restart after every write, so under a steady write load it never
// finished; it now copies one snapshot while the writers go on. Leftovers of an interrupted
// backup are removed at the next start.
TEST_F(LifecycleIt, BackupFinishesUnderASteadyWriteLoadAndLeftoversAreRemoved) {
  std::ofstream(dir_ / "data" / ".backup-interrupted.tmp") << "partial copy";
  ASSERT_TRUE(Start());
  EXPECT_FALSE(fs::exists(dir_ / "data" / ".backup-interrupted.tmp"));
  // A database of several MiB, so that a copy takes many steps.
  const std::string big(2048, 'x');
  std::vector<std::thread> fillers;
  for (int t = 0; t < 4; ++t)
    fillers.emplace_back([&, t] {
      sirr::client::Client c(server_, sirr::SecretBytes::FromString(kToken));
      for (int i = 0; i < 800; ++i)
        (void)c.Do("POST", kSecrets,
                   json{{"name", "f" + std::to_string(t) + "-" + std::to_string(i)}, {"value", big}}
                       .dump());
    });
  for (auto& f : fillers) f.join();
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t)
    writers.emplace_back([&, t] {
      sirr::client::Client c(server_, sirr::SecretBytes::FromString(kToken));
      for (int i = 0; !stop; ++i)
        if (c.Do("POST", kSecrets,
                 json{{"name", "w" + std::to_string(t) + "-" + std::to_string(i)}, {"value", "x"}}
                     .dump())
                ->status == 201)
          ++written;
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const int before = written;
  auto r = Cli({"operator", "backup", (dir_ / "loaded.db").string()});
  const int during = written - before;
  stop = true;
  for (auto& w : writers) w.join();
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_GT(during, 0) << "the writers went on during the backup";
  EXPECT_GT(fs::file_size(dir_ / "loaded.db"), 4u << 20);
  auto restored = RunSirrd({{"SIRR_DATA_DIR", (dir_ / "copy").string()}},
                           {"restore", (dir_ / "loaded.db").string()});
  EXPECT_EQ(restored.code, 0) << restored.err;
}

TEST_F(LifecycleIt, ShamirSharesInteroperateWithSsss) {
  if (access("/usr/bin/ssss-split", X_OK) != 0)
    GTEST_SKIP() << "ssss is not installed (scripts/install-deps.sh)";
  ASSERT_TRUE(Start());
  Populate(1);
  ASSERT_EQ(Stop(), 0);
  // Ours → ssss-combine.
  auto split =
      Cli({"operator", "shamir", "split", "-t", "3", "-n", "5", "--in", key_file_.string()});
  ASSERT_EQ(split.code, 0) << split.err;
  std::vector<std::string> shares;
  std::istringstream lines(split.out);
  for (std::string line; std::getline(lines, line);) shares.push_back(line);
  ASSERT_EQ(shares.size(), 5u);
  auto combined = Exec({"/bin/sh", "-c", "timeout 20 ssss-combine -t 3 -x -Q 2>&1"}, {},
                       shares[0] + "\n" + shares[2] + "\n" + shares[4] + "\n", dir_);
  ASSERT_EQ(combined.code, 0) << combined.out;
  EXPECT_EQ(combined.out.substr(0, 64), kKeyHex);
  // ssss-split → ours → a key file that unseals the database.
  auto theirs =
      Exec({"/bin/sh", "-c", "timeout 20 ssss-split -t 3 -n 5 -x -q"}, {}, kKeyHex + "\n", dir_);
  ASSERT_EQ(theirs.code, 0) << theirs.err;
  std::vector<std::string> their_shares;
  std::istringstream tl(theirs.out);
  for (std::string line; std::getline(tl, line);) their_shares.push_back(line);
  ASSERT_EQ(their_shares.size(), 5u);
  const fs::path rebuilt = dir_ / "rebuilt.key";
  auto joined = Cli({"operator", "shamir", "combine", "-t", "3", "--out", rebuilt.string()},
                    their_shares[1] + "\n" + their_shares[3] + "\n" + their_shares[4] + "\n");
  ASSERT_EQ(joined.code, 0) << joined.err;
  ASSERT_TRUE(Start({{"SIRR_KEY_FILE", rebuilt.string()}}));
  ExpectAllReadable(1);
  // Bad input: too few, duplicated, malformed → non-zero exit with a reason.
  auto few = Cli({"operator", "shamir", "combine", "-t", "3"}, their_shares[0] + "\n");
  EXPECT_NE(few.code, 0);
  EXPECT_NE(few.err.find("need 3 shares, got 1"), std::string::npos) << few.err;
  auto dup = Cli({"operator", "shamir", "combine", "-t", "2"},
                 their_shares[0] + "\n" + their_shares[0] + "\n");
  EXPECT_NE(dup.code, 0);
  EXPECT_NE(dup.err.find("given twice"), std::string::npos) << dup.err;
  auto bad = Cli({"operator", "shamir", "combine", "-t", "2"}, "1-xyz\n2-00\n");
  EXPECT_NE(bad.code, 0);
  auto wrong_t =
      Cli({"operator", "shamir", "split", "-t", "1", "-n", "5", "--in", key_file_.string()});
  EXPECT_NE(wrong_t.code, 0);
}

}  // namespace
}  // namespace sirr_it

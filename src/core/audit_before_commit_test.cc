// Audit before commit (DESIGN.md §7, docs/formats.md "audit journal"), driven through the
// audit file seam: a state change commits only together with its audit record, and while the
// audit log cannot take records nothing changes and the caller gets Unavailable (503).

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/core_test_env.h"
#include "crypto/crypto.h"
#include "seal/master_key.h"
#include "testing/faulty_audit_file.h"

namespace sirr::core {
namespace {

class AuditBeforeCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.audit_options_.ops = &faults_;
    env_.Make(SealOptions{});
    master_key_ = env_.random_.RandomSecret(32);
    ASSERT_TRUE(env_.keeper_->Unseal(master_key_.Clone()).ok());
  }
  std::string Log() const {
    std::ifstream in(env_.dir() / "audit.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  size_t Count(const std::string& needle) const {
    std::string log = Log();
    size_t n = 0;
    for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
    return n;
  }
  audit::VerifyResult Verify() const {
    auto master = seal::MasterKey::Derive(master_key_.Clone());
    return *audit::Verify((env_.dir() / "audit.log").string(), master->audit_key(), std::nullopt);
  }
  PushRequest Once(std::string name) {
    PushRequest p = testing::CoreEnv::Req(std::move(name), "v");
    p.max_reads = 1;
    return p;
  }

  sirr::testing::FaultyAuditFile faults_;
  testing::CoreEnv env_{"sirr-abc"};
  SecretBytes master_key_;
  RequestContext ctx_ = testing::CoreEnv::Ctx();
};

TEST_F(AuditBeforeCommitTest, ChangesAreRefusedAndNothingChangesWhileTheLogCannotGrow) {
  ASSERT_TRUE(env_.secrets_->Push(ctx_, Once("once")).ok());
  ASSERT_TRUE(env_.secrets_->Push(ctx_, testing::CoreEnv::Req("keep", "v")).ok());
  faults_.full = true;
  // The first change after the disk filled still commits: its record is durable in the
  // journal (same transaction) and only the file write failed. From then on the log is
  // behind, and every change is refused before it starts.
  ASSERT_TRUE(env_.secrets_->Push(ctx_, testing::CoreEnv::Req("committed", "v")).ok());
  EXPECT_EQ(env_.audit_->Ready().code(), StatusCode::kUnavailable);

  EXPECT_EQ(env_.secrets_->Push(ctx_, testing::CoreEnv::Req("refused", "v")).status().code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(env_.secrets_->Pull(ctx_, "default", "once").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(env_.secrets_->Delete(ctx_, "default", "keep").status().code(),
            StatusCode::kUnavailable);
  // A read that changes nothing cannot be recorded either: refused, value not served.
  EXPECT_EQ(env_.secrets_->Pull(ctx_, "default", "keep").status().code(), StatusCode::kUnavailable);

  // Nothing changed: not stored, not burned, not deleted.
  const std::string vault = env_.storage_->GetVault("default", "")->id;
  EXPECT_EQ(env_.storage_->GetSecretMeta(vault, "refused").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*env_.storage_->GetSecretMeta(vault, "once")->reads_remaining, 1);
  EXPECT_TRUE(env_.storage_->GetSecretMeta(vault, "keep").ok());

  // Space again: the committed change's record reaches the file first, then life goes on.
  faults_.full = false;
  ASSERT_TRUE(env_.audit_->Ready().ok());
  EXPECT_EQ(Count("\"secret\":\"committed\""), 1u);
  EXPECT_EQ(Count("\"secret\":\"refused\""), 0u);
  auto pulled = env_.secrets_->Pull(ctx_, "default", "once");
  ASSERT_TRUE(pulled.ok()) << pulled.status();
  EXPECT_EQ(Count("\"action\":\"secret.burn\""), 1u);
  auto v = Verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_TRUE(v.torn_lines.empty());
}

TEST_F(AuditBeforeCommitTest, AWriteCutShortLeavesNoPartialRecord) {
  faults_.full = true;
  faults_.partial_first = true;
  EXPECT_FALSE(env_.secrets_->Pull(ctx_, "default", "missing").ok());  // direct record fails
  faults_.full = false;
  ASSERT_TRUE(env_.secrets_->Push(ctx_, testing::CoreEnv::Req("after", "v")).ok());
  auto v = Verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_TRUE(v.torn_lines.empty()) << "the partial record was truncated away";
}

TEST_F(AuditBeforeCommitTest, APartialRecordThatCannotBeRemovedIsReportedAsTorn) {
  faults_.full = true;
  faults_.partial_first = true;
  faults_.truncate_fails = true;
  EXPECT_FALSE(env_.secrets_->Pull(ctx_, "default", "missing").ok());
  faults_.full = false;
  ASSERT_TRUE(env_.secrets_->Push(ctx_, testing::CoreEnv::Req("after", "v")).ok());
  auto v = Verify();
  EXPECT_TRUE(v.ok) << v.problem;  // a torn record is not tampering
  ASSERT_EQ(v.torn_lines.size(), 1u);
  EXPECT_EQ(Count("\"secret\":\"after\""), 1u);
}

TEST_F(AuditBeforeCommitTest, RecordsCommittedButNeverWrittenAreRecoveredFromTheJournal) {
  faults_.full = true;  // the file never sees these records: as if sirrd died after COMMIT
  ASSERT_TRUE(env_.secrets_->Push(ctx_, Once("lost-in-crash")).ok());
  EXPECT_EQ(Count("lost-in-crash"), 0u);
  faults_.full = false;
  // "Restart": a new audit log and keeper over the same files; the old process's memory (its
  // backlog) is gone, the database journal is not.
  env_.audit_options_.ops = &audit::AuditFileOps::Posix();
  env_.Make(SealOptions{});
  ASSERT_TRUE(env_.keeper_->Unseal(master_key_.Clone()).ok());
  EXPECT_EQ(Count("lost-in-crash"), 1u);
  auto v = Verify();
  EXPECT_TRUE(v.ok) << v.problem;
  // Unsealing again (no new journal rows past the file) writes nothing twice.
  env_.Make(SealOptions{});
  ASSERT_TRUE(env_.keeper_->Unseal(master_key_.Clone()).ok());
  EXPECT_EQ(Count("lost-in-crash"), 1u);
}

TEST_F(AuditBeforeCommitTest, AFailedWriteLeavesNoJournalRowAndIsRecordedDirectly) {
  ASSERT_TRUE(env_.secrets_->Push(ctx_, testing::CoreEnv::Req("dup", "v")).ok());
  auto before = env_.storage_->ReadJournal(0, 1000);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(env_.secrets_->Push(ctx_, testing::CoreEnv::Req("dup", "v")).status().code(),
            StatusCode::kAlreadyExists);
  auto after = env_.storage_->ReadJournal(0, 1000);
  EXPECT_EQ(after->size(), before->size());
  EXPECT_EQ(Count("\"outcome\":\"conflict\""), 1u);
}

TEST_F(AuditBeforeCommitTest, JournalRowsArePurgedOnlyUpToWhatTheFileHolds) {
  ASSERT_TRUE(env_.secrets_->Push(ctx_, testing::CoreEnv::Req("a", "v")).ok());
  const int64_t written = env_.audit_->journal_written();
  ASSERT_GT(written, 0);
  faults_.full = true;
  ASSERT_TRUE(env_.secrets_->Push(ctx_, testing::CoreEnv::Req("b", "v")).ok());  // in backlog
  EXPECT_EQ(env_.audit_->journal_written(), written);
  auto head = env_.audit_->Head();
  ASSERT_TRUE(
      env_.storage_->SaveAuditHead(head.seq, head.mac, env_.audit_->journal_written()).ok());
  auto left = env_.storage_->ReadJournal(0, 1000);
  ASSERT_EQ(left->size(), 1u);  // b's record stays until the file has it
  EXPECT_NE(left->front().fields.find("\"secret\":\"b\""), std::string::npos);
}

}  // namespace
}  // namespace sirr::core

#include "testing/faulty_storage.h"

namespace sirr::core {
namespace {

// The storage seam: any storage call can be failed. A failed write changes nothing and leaves
// no success record; a failed journal read at unseal keeps the instance sealed (fail closed).
class FaultyStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Build();
    master_key_ = env_.random_.RandomSecret(32);
    ASSERT_TRUE(keeper_->Unseal(master_key_.Clone()).ok());
  }
  void Build() {
    secrets_.reset();
    vaults_.reset();
    keeper_.reset();
    faulty_.SetJournalSink(nullptr);
    journal_.reset();
    audit_ = std::make_unique<audit::AuditLog>((env_.dir() / "audit.log").string(), env_.clock_);
    journal_ = std::make_unique<AuditJournal>(*audit_);
    faulty_.SetJournalSink(journal_.get());
    keeper_ =
        std::make_unique<SealKeeper>(faulty_, *audit_, env_.clock_, env_.random_, SealOptions{});
    vaults_ = std::make_unique<Vaults>(faulty_, *keeper_, *audit_, env_.clock_, env_.random_);
    secrets_ = std::make_unique<Secrets>(faulty_, *keeper_, *vaults_, *audit_, env_.clock_,
                                         env_.random_, SecretLimits{});
  }
  std::string Log() const {
    std::ifstream in(env_.dir() / "audit.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  testing::CoreEnv env_{"sirr-faulty"};
  sirr::testing::FaultyStorage faulty_{*env_.storage_};
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<AuditJournal> journal_;
  std::unique_ptr<SealKeeper> keeper_;
  std::unique_ptr<Vaults> vaults_;
  std::unique_ptr<Secrets> secrets_;
  SecretBytes master_key_;
  RequestContext ctx_ = testing::CoreEnv::Ctx();
};

TEST_F(FaultyStorageTest, AFailedWriteChangesNothingAndRecordsNoSuccess) {
  PushRequest once = testing::CoreEnv::Req("once", "v");
  once.max_reads = 1;
  ASSERT_TRUE(secrets_->Push(ctx_, std::move(once)).ok());
  const Status io = UnavailableError("storage: disk I/O error (injected)");
  faulty_.Fail("PutSecret", io);
  faulty_.Fail("ReadSecret", io);
  faulty_.Fail("DeleteSecret", io);
  EXPECT_EQ(secrets_->Push(ctx_, testing::CoreEnv::Req("lost", "v")).status().code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(secrets_->Pull(ctx_, "default", "once").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(secrets_->Delete(ctx_, "default", "once").status().code(), StatusCode::kUnavailable);
  faulty_.Heal();
  const std::string vault = env_.storage_->GetVault("default", "")->id;
  EXPECT_EQ(env_.storage_->GetSecretMeta(vault, "lost").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*env_.storage_->GetSecretMeta(vault, "once")->reads_remaining, 1);
  const std::string log = Log();
  EXPECT_EQ(log.find("\"secret\":\"lost\""), std::string::npos);
  EXPECT_EQ(log.find("secret.burn"), std::string::npos);
  EXPECT_EQ(log.find("secret.delete"), std::string::npos);
  ASSERT_TRUE(secrets_->Pull(ctx_, "default", "once").ok());  // healed: works, once
}

TEST_F(FaultyStorageTest, CheckpointFailureKeepsTheJournalAndUnsealFailsClosedWithoutIt) {
  ASSERT_TRUE(secrets_->Push(ctx_, testing::CoreEnv::Req("a", "v")).ok());
  faulty_.Fail("SaveAuditHead", UnavailableError("injected"));
  auto head = audit_->Head();
  EXPECT_FALSE(faulty_.SaveAuditHead(head.seq, head.mac, audit_->journal_written()).ok());
  EXPECT_FALSE(env_.storage_->ReadJournal(0, 100)->empty());  // nothing purged
  faulty_.Heal();
  keeper_->Seal();
  // Unsealing must read the journal (committed records the file may lack): if it cannot, the
  // instance stays sealed rather than serving with records possibly missing.
  faulty_.Fail("ReadJournal", UnavailableError("injected"));
  Build();
  EXPECT_FALSE(keeper_->Unseal(master_key_.Clone()).ok());
  EXPECT_TRUE(keeper_->sealed());
  faulty_.Heal();
  EXPECT_TRUE(keeper_->Unseal(master_key_.Clone()).ok());
}

}  // namespace
}  // namespace sirr::core

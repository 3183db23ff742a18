// Audit operations: rotation and retention, verification of a set of files, sinks, search.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "audit/audit_log.h"
#include "audit/audit_search.h"
#include "audit/audit_sink.h"
#include "testing/temp_dir.h"

namespace sirr::audit {
namespace {

namespace fs = std::filesystem;

// A sink that keeps what it got, and fails while `down`.
class MemorySink final : public AuditSink {
 public:
  explicit MemorySink(bool required) : required_(required) {}
  std::string name() const override { return "memory"; }
  bool required() const override { return required_; }
  bool Deliver(std::string_view line, int64_t) override {
    if (down) return false;
    lines.emplace_back(line);
    return true;
  }
  bool down = false;
  std::vector<std::string> lines;

 private:
  const bool required_;
};

class AuditOpsTest : public ::testing::Test {
 protected:
  std::unique_ptr<AuditLog> Open(AuditOptions options = {}) {
    auto log = AuditLog::Open(path_, key_.Clone(), "kid", clock_, std::move(options));
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(log).value() : nullptr;
  }
  static Event Read(const std::string& secret) {
    Event e;
    e.action = "secret.read";
    e.outcome = "success";
    e.principal = "admin";
    e.vault_name = "default";
    e.secret_name = secret;
    return e;
  }
  StatusOr<SetResult> VerifyAll() {
    const SecretBytes* keys[] = {&key_};
    return VerifySet(AuditFilesIn(dir_.path().string()), keys, std::nullopt);
  }
  std::vector<std::string> Lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }

  sirr::testing::TempDir dir_{"sirr-audit-ops"};
  const std::string path_ = (dir_ / "audit.log").string();
  SecretBytes key_ = SecretBytes::FromString("0123456789abcdef0123456789abcdef");
  FakeClock clock_;
};

TEST_F(AuditOpsTest, RotationContinuesTheChainAndPrunedSetsVerifyButGapsDoNot) {
  AuditOptions options;
  options.keep = 2;
  auto log = Open(options);
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(log->Append(Read("s" + std::to_string(i))).ok());
    clock_.AdvanceMillis(1500);
    auto rotated = log->Rotate("test");
    ASSERT_TRUE(rotated.ok()) << rotated.status();
  }
  ASSERT_TRUE(log->Append(Read("last")).ok());
  EXPECT_EQ(log->RotatedFiles().size(), 2u);
  const auto first = Lines(path_)[0];
  EXPECT_NE(first.find(R"("action":"audit.rotated")"), std::string::npos) << first;
  EXPECT_NE(Lines(path_)[1].find(R"("detail":"pruned_through=)"), std::string::npos);
  auto set = VerifyAll();
  ASSERT_TRUE(set.ok());
  EXPECT_TRUE(set->ok) << (set->problems.empty() ? "" : set->problems[0]);
  EXPECT_EQ(set->files.size(), 3u);
  EXPECT_GT(set->pruned_through, 0);
  EXPECT_EQ(set->head.seq, log->Head().seq);
  // The middle file removed: a gap naming the records.
  const auto files = log->RotatedFiles();
  fs::rename(files[1], dir_ / "elsewhere");
  set = VerifyAll();
  EXPECT_FALSE(set->ok);
  ASSERT_FALSE(set->problems.empty());
  EXPECT_NE(set->problems[0].find("gap: records"), std::string::npos) << set->problems[0];
}

TEST_F(AuditOpsTest, AnInterruptedRotationIsFinishedAtTheNextOpen) {
  {
    auto log = Open();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(log->Append(Read("s")).ok());
  }
  // Crash after the rename, before the new file had its first record.
  fs::rename(path_, path_ + ".20261130T101500.123Z");
  {
    auto log = Open();
    ASSERT_TRUE(log->Append(Read("after")).ok());
    EXPECT_EQ(log->Head().seq, 5);  // audit.rotated, then the event
  }
  EXPECT_NE(Lines(path_)[0].find("audit.rotated"), std::string::npos);
  auto set = VerifyAll();
  EXPECT_TRUE(set->ok) << set->problems[0];
}

TEST_F(AuditOpsTest, SizeRotationIsDueOnlyPastTheLimit) {
  AuditOptions options;
  options.rotate_bytes = 2000;
  auto log = Open(options);
  ASSERT_TRUE(log->Append(Read("a")).ok());
  EXPECT_EQ(*log->MaybeRotate(), "");
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(log->Append(Read("b")).ok());
  EXPECT_NE(log->MaybeRotate()->find("audit log rotated"), std::string::npos);
  EXPECT_EQ(*log->MaybeRotate(), "");  // the new file is small
}

TEST_F(AuditOpsTest, RequiredSinkFailsClosedAndCatchesUpInOrder) {
  auto sink = std::make_shared<MemorySink>(true);
  AuditOptions options;
  options.sinks = {sink};
  auto log = Open(options);
  ASSERT_TRUE(log->Append(Read("one")).ok());
  sink->down = true;
  EXPECT_EQ(log->Append(Read("two")).code(), StatusCode::kUnavailable);  // in the file, kept
  EXPECT_EQ(log->Ready().code(), StatusCode::kUnavailable);
  EXPECT_EQ(log->Append(Read("three")).code(), StatusCode::kUnavailable);  // refused: not written
  sink->down = false;
  EXPECT_TRUE(log->Ready().ok());
  ASSERT_TRUE(log->Append(Read("four")).ok());
  const auto file = Lines(path_);
  ASSERT_EQ(sink->lines.size(), file.size());
  for (size_t i = 0; i < file.size(); ++i) EXPECT_EQ(sink->lines[i], file[i]);
  EXPECT_EQ(file.size(), 3u);
  EXPECT_GT(log->metrics().sink_failures.With({"memory"}).Value(), 0u);
}

TEST_F(AuditOpsTest, OptionalSinkLosesRecordsButNeverBlocks) {
  auto sink = std::make_shared<MemorySink>(false);
  sink->down = true;
  AuditOptions options;
  options.sinks = {sink};
  auto log = Open(options);
  ASSERT_TRUE(log->Append(Read("one")).ok());
  EXPECT_TRUE(log->Ready().ok());
  EXPECT_TRUE(sink->lines.empty());
  EXPECT_EQ(log->metrics().sink_failures.With({"memory"}).Value(), 1u);
}

TEST_F(AuditOpsTest, SinkListParsesAndRefusesUnknownSinks) {
  auto sinks = ParseSinks("stdout, syslog:required", "/nonexistent/log");
  ASSERT_TRUE(sinks.ok());
  ASSERT_EQ(sinks->size(), 2u);
  EXPECT_FALSE((*sinks)[0]->required());
  EXPECT_TRUE((*sinks)[1]->required());
  EXPECT_FALSE((*sinks)[1]->Deliver("{}", 0));  // no socket there
  EXPECT_EQ(ParseSinks("kafka", "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseSinks("stdout:maybe", "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SyslogMessage("{\"seq\":1}", 1'700'000'000'123, "host", 42),
            "<86>1 2023-11-14T22:13:20.123Z host sirrd 42 audit - {\"seq\":1}");
}

TEST_F(AuditOpsTest, SearchFiltersPagesAndTails) {
  auto log = Open();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(log->Append(Read("s" + std::to_string(i))).ok());
    clock_.AdvanceSeconds(60);
  }
  Event denied = Read("s9");
  denied.outcome = "denied";
  denied.principal = "token:t1";
  ASSERT_TRUE(log->Append(denied).ok());
  const std::vector<std::string> files = {path_};
  AuditQuery q;
  q.action = "secret.*";
  q.limit = 2;
  auto page = Search(files, q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->records.size(), 2u);
  EXPECT_EQ(page->next_after, 2);
  q.after = page->next_after;
  q.limit = 100;
  EXPECT_EQ(Search(files, q)->records.size(), 4u);
  AuditQuery by;
  by.outcome = "denied";
  by.principal = "token:t1";
  EXPECT_EQ(Search(files, by)->records.size(), 1u);
  AuditQuery secret;
  secret.secret = "s3";
  secret.vault = "default";
  auto one = Search(files, secret);
  ASSERT_EQ(one->records.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(one->records[0])["seq"], 4);
  AuditQuery time;
  time.since = "2023-11-14T22:14:20Z";  // FakeClock starts at 22:13:20
  time.until = "2023-11-14T22:16:20.000Z";
  EXPECT_EQ(Search(files, time)->records.size(), 2u);
  AuditQuery tail;
  tail.tail = true;
  tail.limit = 2;
  auto last = Search(files, tail);
  ASSERT_EQ(last->records.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(last->records[1])["seq"], 6);
  AuditQuery bad;
  bad.since = "yesterday";
  EXPECT_EQ(Search(files, bad).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sirr::audit

#include "audit/audit_log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "testing/temp_dir.h"

namespace sirr::audit {
namespace {

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override { key_ = SecretBytes::FromString("0123456789abcdef0123456789abcdef"); }

  void WriteEvents(int n) {
    auto log = AuditLog::Open(path_, key_.Clone(), "kid", clock_);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < n; ++i) {
      Event e;
      e.action = "secret.read";
      e.outcome = "success";
      e.secret_name = "s" + std::to_string(i);
      ASSERT_TRUE((*log)->Append(e).ok());
    }
  }
  std::vector<std::string> Lines() {
    std::ifstream in(path_);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
  }
  void WriteLines(const std::vector<std::string>& lines, bool final_newline = true) {
    std::ofstream out(path_, std::ios::trunc);
    for (size_t i = 0; i < lines.size(); ++i)
      out << lines[i] << (i + 1 < lines.size() || final_newline ? "\n" : "");
  }
  VerifyResult Check(std::optional<ChainHead> head = std::nullopt) {
    return *Verify(path_, key_, head);
  }

  sirr::testing::TempDir dir_{"sirr-audit"};
  const std::string path_ = (dir_ / "audit.log").string();
  SecretBytes key_;
  FakeClock clock_;
};

TEST_F(AuditLogTest, IntactLogVerifiesAndChainContinuesAcrossReopen) {
  WriteEvents(3);
  WriteEvents(2);
  auto r = Check();
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.lines, 5);
  EXPECT_EQ(r.head.seq, 5);
  EXPECT_NE(Lines()[0].find("\"seq\":1"), std::string::npos);
}

TEST_F(AuditLogTest, DetectsAnEditedLine) {
  WriteEvents(4);
  auto lines = Lines();
  auto pos = lines[2].find("\"s2\"");
  lines[2].replace(pos, 4, "\"s9\"");
  WriteLines(lines);
  auto r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_line, 3);
}

TEST_F(AuditLogTest, DetectsADeletedLine) {
  WriteEvents(4);
  auto lines = Lines();
  lines.erase(lines.begin() + 1);
  WriteLines(lines);
  auto r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_line, 2);
  // Deleting the first line is caught too.
  WriteEvents(0);
  lines = Lines();
  lines.erase(lines.begin());
  WriteLines(lines);
  EXPECT_FALSE(Check().ok);
}

TEST_F(AuditLogTest, DetectsReorderedLines) {
  WriteEvents(4);
  auto lines = Lines();
  std::swap(lines[1], lines[2]);
  WriteLines(lines);
  auto r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_line, 2);
}

TEST_F(AuditLogTest, DetectsTruncationAgainstRecordedHead) {
  WriteEvents(5);
  auto full = Check();
  ASSERT_TRUE(full.ok);
  auto lines = Lines();
  lines.pop_back();
  WriteLines(lines);
  EXPECT_TRUE(Check().ok);  // without the head, a clean cut is a valid shorter chain
  auto r = Check(full.head);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("truncated"), std::string::npos);
}

// A record cut short by a crash (or a full disk) is torn, not tampering: verification passes
// and names it, and the writer ends the partial line and continues the chain after the last
// whole record.
TEST_F(AuditLogTest, ATornLastRecordIsReportedAndTheChainContinues) {
  WriteEvents(3);
  auto lines = Lines();
  lines.back().resize(lines.back().size() / 2);
  WriteLines(lines, false);
  auto r = Check();
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.torn_lines, std::vector<int64_t>{3});
  EXPECT_EQ(r.head.seq, 2);
  WriteEvents(2);  // reopens: seq 3 and 4 follow the torn line
  r = Check();
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.torn_lines, std::vector<int64_t>{3});
  EXPECT_EQ(r.lines, 5);
  EXPECT_EQ(r.head.seq, 4);
}

// A partial line followed by a record that does not continue the chain from the record
// before it is damage, not a torn write.
TEST_F(AuditLogTest, APartialLineInTheMiddleThatBreaksTheChainIsDamage) {
  WriteEvents(4);
  auto lines = Lines();
  lines[1].resize(lines[1].size() / 2);  // seq 2 cut, seq 3 still names seq 2 as prev
  WriteLines(lines);
  auto r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_line, 2);
}

TEST_F(AuditLogTest, WriterRefusesADamagedTerminatedLastLine) {
  WriteEvents(3);
  auto lines = Lines();
  lines.back() = "{\"seq\":3,\"not\":\"a record\"}";
  WriteLines(lines);
  EXPECT_FALSE(Check().ok);
  EXPECT_EQ(AuditLog::Open(path_, key_.Clone(), "kid", clock_).status().code(),
            StatusCode::kDataLoss);
}

TEST_F(AuditLogTest, WrongKeyFails) {
  WriteEvents(2);
  auto r =
      *Verify(path_, SecretBytes::FromString("another key of thirty-two bytes!"), std::nullopt);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_line, 1);
}

TEST_F(AuditLogTest, LineFormatEndsWithMacOverBody) {
  Event e;
  e.action = "x";
  std::string line = SignLine(key_, 1, Bytes(32, 0), "t", "kid", e);
  EXPECT_EQ(line.rfind(",\"mac\":\""), line.size() - 74);
  EXPECT_NE(line.find("\"prev\":\"0000"), std::string::npos);
}

// The hand-written serialiser must write what nlohmann::json wrote before it (same members,
// order and escaping), so old and new lines look alike and parse back to the same values.
TEST_F(AuditLogTest, LineMatchesNlohmannSerialisation) {
  Event e;
  e.request_id = "req-1";
  e.principal = "admin";
  e.client = "127.0.0.1";
  e.action = "secret.read";
  e.vault_id = "v-id";
  e.vault_name = "default";
  e.secret_name = std::string("quote\" back\\ nl\n tab\t ctl\x01\x1f del\x7f ") +
                  "\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91";
  e.key_name = "k";
  e.outcome = "success";
  e.detail = "a \"detail\"";
  nlohmann::ordered_json j;
  j["seq"] = 7;
  j["time"] = "t";
  j["request_id"] = e.request_id;
  j["principal"] = e.principal;
  j["client"] = e.client;
  j["action"] = e.action;
  j["target"] = {{"vault_id", e.vault_id},
                 {"vault", e.vault_name},
                 {"secret", e.secret_name},
                 {"key", e.key_name}};
  j["outcome"] = e.outcome;
  j["detail"] = e.detail;
  j["key_id"] = "kid";
  j["prev"] = std::string(64, '0');
  std::string expected = j.dump();
  std::string line = SignLine(key_, 7, Bytes(32, 0), "t", "kid", e);
  std::string body = line.substr(0, line.size() - 74) + "}";
  EXPECT_EQ(body, expected);
}

TEST_F(AuditLogTest, InvalidUtf8BecomesReplacementCharacter) {
  Event e;
  e.action = "x";
  e.secret_name = "bad \xff\xc3 overlong \xc0\xaf surrogate \xed\xa0\x80 end";
  std::string line = SignLine(key_, 1, Bytes(32, 0), "t", "kid", e);
  auto j = nlohmann::json::parse(line, nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["target"]["secret"].get<std::string>(),
            "bad \xef\xbf\xbd\xef\xbf\xbd overlong \xef\xbf\xbd\xef\xbf\xbd surrogate "
            "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd end");
}

}  // namespace
}  // namespace sirr::audit

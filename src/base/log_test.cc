#include "base/log.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

namespace sirr::log {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_ = Current();
    SetSinkForTesting(&out_);
  }
  void TearDown() override {
    SetSinkForTesting(nullptr);
    Configure(saved_);
  }
  std::string out_;
  Options saved_;
};

TEST_F(LogTest, JsonLinesParseAndCarryTheFields) {
  Configure({Format::kJson, Level::kInfo, true, 10'000});
  Write(Level::kInfo, "started \"x\"", {{"addr", "127.0.0.1:1"}});
  Access({"req-1", "GET", "/api/v1/vaults/{vault}", 200, 1.5, "token:abc", "127.0.0.1"});
  Flush();
  std::istringstream lines(out_);
  std::string line;
  ASSERT_TRUE(std::getline(lines, line));
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["msg"], "started \"x\"");
  EXPECT_EQ(j["addr"], "127.0.0.1:1");
  ASSERT_TRUE(std::getline(lines, line));
  j = nlohmann::json::parse(line);
  EXPECT_EQ(j["msg"], "request");
  EXPECT_EQ(j["route"], "/api/v1/vaults/{vault}");
  EXPECT_EQ(j["status"], 200);
  EXPECT_EQ(j["principal"], "token:abc");
  EXPECT_EQ(j["request_id"], "req-1");
}

TEST_F(LogTest, LevelFiltersLines) {
  Configure({Format::kText, Level::kWarning, true, 10'000});
  Write(Level::kInfo, "quiet");
  Access({"r", "GET", "/health", 200, 0.1, "", "::1"});
  Write(Level::kWarning, "loud");
  Flush();
  EXPECT_EQ(out_.find("quiet"), std::string::npos);
  EXPECT_EQ(out_.find("/health"), std::string::npos);
  EXPECT_NE(out_.find(" sirrd warning: loud\n"), std::string::npos);
}

TEST_F(LogTest, RepeatedErrorsAreFoldedIntoACount) {
  Configure({Format::kText, Level::kInfo, true, 0});  // no window: every line
  Write(Level::kError, "disk full");
  Write(Level::kError, "disk full");
  Flush();
  EXPECT_EQ(std::count(out_.begin(), out_.end(), '\n'), 2);
  out_.clear();
  Configure({Format::kText, Level::kInfo, true, 60'000});
  for (int i = 0; i < 100; ++i) Write(Level::kError, "audit sink syslog: write failed");
  Write(Level::kError, "something else");
  Flush();  // the window has not ended: the count waits
  EXPECT_EQ(std::count(out_.begin(), out_.end(), '\n'), 2) << out_;
  Configure({Format::kText, Level::kInfo, true, 1});
  usleep(5000);
  Flush();  // the window ended: one line with the count
  EXPECT_NE(out_.find("audit sink syslog: write failed repeated=99 since="), std::string::npos)
      << out_;
}

TEST_F(LogTest, TextAccessLineNamesTheRouteTemplateOnly) {
  Configure({Format::kText, Level::kInfo, true, 10'000});
  Access({"id-9", "DELETE", "/api/v1/vaults/{vault}/secrets/{secret...}", 204, 2.25, "admin",
          "10.0.0.1"});
  Flush();
  EXPECT_NE(out_.find(" sirrd access: DELETE /api/v1/vaults/{vault}/secrets/{secret...} 204 "
                      "2.250ms id=id-9 principal=admin client=10.0.0.1\n"),
            std::string::npos)
      << out_;
}

}  // namespace
}  // namespace sirr::log

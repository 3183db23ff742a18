#include "seal/providers.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "testing/temp_dir.h"

namespace sirr::seal {
namespace {

constexpr const char* kKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

class ProvidersTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content, mode_t mode = 0400) {
    return dir_.Write(name, content, mode);
  }
  sirr::testing::TempDir dir_{"sirr-prov"};
};

TEST(SplitCommandLineTest, QuotesEscapesAndNoExpansion) {
  auto args = SplitCommandLine(R"(aws kms decrypt --blob 'fileb:///a b.enc' "x \"y\"" a\ b $HOME)");
  ASSERT_TRUE(args.ok());
  EXPECT_EQ(*args, (std::vector<std::string>{"aws", "kms", "decrypt", "--blob", "fileb:///a b.enc",
                                             "x \"y\"", "a b", "$HOME"}));
  EXPECT_TRUE(SplitCommandLine("  ")->empty());
  EXPECT_EQ(*SplitCommandLine("''"), std::vector<std::string>{""});
  EXPECT_FALSE(SplitCommandLine("'open").ok());
  EXPECT_FALSE(SplitCommandLine("\"open").ok());
  EXPECT_FALSE(SplitCommandLine("trailing\\").ok());
}

TEST_F(ProvidersTest, FileProviderNeedsAKeyFile) {
  ProviderConfig c;
  EXPECT_EQ(LoadMasterKey(c).status().code(), StatusCode::kFailedPrecondition);
  c.key_file = Write("k", kKeyHex);
  auto k = LoadMasterKey(c);
  ASSERT_TRUE(k.ok()) << k.status();
  ASSERT_TRUE(k->key);
  EXPECT_EQ(k->key->size(), 32u);
  EXPECT_EQ(k->source, "key file " + c.key_file);
}

TEST_F(ProvidersTest, DockerProviderFallsBackToTheStandardSecretNames) {
  ProviderConfig c;
  c.provider = "docker";
  c.docker_secrets_dir = dir_.path().string();
  EXPECT_EQ(LoadMasterKey(c).status().code(), StatusCode::kNotFound);
  Write("master_key", kKeyHex);
  EXPECT_NE(LoadMasterKey(c)->source.find("master_key"), std::string::npos);
  Write("unsealerkey", kKeyHex);  // preferred over master_key
  EXPECT_NE(LoadMasterKey(c)->source.find("unsealerkey"), std::string::npos);
  c.key_file = Write("explicit", kKeyHex);  // SIRR_KEY_FILE wins
  EXPECT_NE(LoadMasterKey(c)->source.find("explicit"), std::string::npos);
}

TEST_F(ProvidersTest, GroupReadableKeyFileIsWarnedAbout) {
  ProviderConfig c;
  c.key_file = Write("k", kKeyHex, 0644);
  std::vector<std::string> logged;
  c.log = [&](const std::string& m) { logged.push_back(m); };
  ASSERT_TRUE(LoadMasterKey(c).ok());
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_NE(logged[0].find("chmod 0400"), std::string::npos);
}

TEST_F(ProvidersTest, EnvProviderUnsetsTheVariable) {
  ProviderConfig c;
  c.provider = "env";
  ::unsetenv("SEAL_UNSEAL_KEY");
  ::unsetenv("VAULT_SEAL_UNSEAL_KEY");
  EXPECT_EQ(LoadMasterKey(c).status().code(), StatusCode::kNotFound);
  ::setenv("VAULT_SEAL_UNSEAL_KEY", "not a key", 1);
  auto bad = LoadMasterKey(c);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message().find("not a key"), std::string::npos);
  EXPECT_EQ(std::getenv("VAULT_SEAL_UNSEAL_KEY"), nullptr);
  ::setenv("SEAL_UNSEAL_KEY", kKeyHex, 1);
  std::vector<std::string> logged;
  c.log = [&](const std::string& m) { logged.push_back(m); };
  auto k = LoadMasterKey(c);
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(std::getenv("SEAL_UNSEAL_KEY"), nullptr);
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_NE(logged[0].find("/proc"), std::string::npos);
}

TEST_F(ProvidersTest, ApiProviderHasNoKey) {
  ProviderConfig c;
  c.provider = "api";
  auto k = LoadMasterKey(c);
  ASSERT_TRUE(k.ok());
  EXPECT_FALSE(k->key);
}

TEST_F(ProvidersTest, RunCommandCapturesStdoutForwardsStderrAndHidesSecretsFromTheChild) {
  ::setenv("SEAL_UNSEAL_KEY", "should-not-be-inherited", 1);
  std::vector<std::string> lines;
  auto out = RunCommand(
      {"/bin/sh", "-c", "echo one >&2; echo two >&2; printf %s \"${SEAL_UNSEAL_KEY:-absent}\""}, 5,
      100, [&](const std::string& l) { lines.push_back(l); });
  ::unsetenv("SEAL_UNSEAL_KEY");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->exit_code, 0);
  EXPECT_EQ(out->out.reveal_string(), "absent");
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two"}));
}

TEST_F(ProvidersTest, RunCommandLimitsOutputAndTime) {
  auto big = RunCommand({"/bin/sh", "-c", "head -c 5000 /dev/zero"}, 5, 100, nullptr);
  EXPECT_EQ(big.status().code(), StatusCode::kInvalidArgument);
  auto slow = RunCommand({"/bin/sh", "-c", "sleep 20"}, 1, 100, nullptr);
  EXPECT_EQ(slow.status().code(), StatusCode::kUnavailable);
  // A child that closes its pipes but keeps running is still bounded by the timeout.
  auto detached = RunCommand({"/bin/sh", "-c", "exec >&- 2>&-; sleep 20"}, 1, 100, nullptr);
  EXPECT_EQ(detached.status().code(), StatusCode::kUnavailable);
  auto code = RunCommand({"/bin/sh", "-c", "exit 7"}, 5, 100, nullptr);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(code->exit_code, 7);
}

TEST_F(ProvidersTest, CommandProviderParsesTheKeyAndFailsClosed) {
  ProviderConfig c;
  c.provider = "command";
  EXPECT_EQ(LoadMasterKey(c).status().code(), StatusCode::kFailedPrecondition);
  c.command = std::string("/bin/echo ") + kKeyHex;
  auto k = LoadMasterKey(c);
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(k->key->size(), 32u);
  c.command = "/bin/false";
  EXPECT_EQ(LoadMasterKey(c).status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sirr::seal

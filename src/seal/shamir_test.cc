#include "seal/shamir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <sstream>

#include "base/encoding.h"
#include "crypto/crypto.h"
#include "testing/subprocess.h"

namespace sirr::seal {
namespace {

const std::string kKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

SecretBytes Key() { return *HexDecodeSecret(kKeyHex); }

std::vector<Share> Pick(const std::vector<Share>& all, std::initializer_list<int> indices) {
  std::vector<Share> out;
  for (int i : indices)
    out.push_back(Share{all[i - 1].index, SecretBytes(all[i - 1].value.reveal())});
  return out;
}

TEST(ShamirTest, EveryThresholdSubsetRecoversTheKey) {
  auto shares = ShamirSplit(Key(), 3, 5, crypto::SecureRandom::Get());
  ASSERT_TRUE(shares.ok()) << shares.status();
  ASSERT_EQ(shares->size(), 5u);
  for (int a = 1; a <= 5; ++a)
    for (int b = a + 1; b <= 5; ++b)
      for (int c = b + 1; c <= 5; ++c) {
        auto key = ShamirCombine(Pick(*shares, {a, b, c}), 3);
        ASSERT_TRUE(key.ok()) << key.status();
        EXPECT_EQ(HexEncode(key->reveal()), kKeyHex) << a << b << c;
      }
  // All five together are consistent and give the key too.
  EXPECT_EQ(HexEncode(ShamirCombine(*shares, 3)->reveal()), kKeyHex);
  // Two shares of a 3-of-5 split are refused (not silently wrong).
  auto two = ShamirCombine(Pick(*shares, {1, 2}), 3);
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.status().message(), "need 3 shares, got 2");
}

TEST(ShamirTest, LargeCountsAndTheFormat) {
  auto shares = ShamirSplit(Key(), 255, 255, crypto::SecureRandom::Get());
  ASSERT_TRUE(shares.ok());
  EXPECT_EQ(FormatShare((*shares)[0], 255).reveal_string().substr(0, 4), "001-");
  EXPECT_EQ(FormatShare((*shares)[11], 12).reveal_string().substr(0, 3), "12-");
  EXPECT_EQ(FormatShare((*shares)[1], 5).reveal_string().size(), 2u + 64u);
  EXPECT_EQ(HexEncode(ShamirCombine(*shares, 255)->reveal()), kKeyHex);
}

TEST(ShamirTest, BadSharesAndParametersAreRefused) {
  auto& random = crypto::SecureRandom::Get();
  EXPECT_FALSE(ShamirSplit(Key(), 1, 5, random).ok());
  EXPECT_FALSE(ShamirSplit(Key(), 4, 3, random).ok());
  EXPECT_FALSE(ShamirSplit(Key(), 3, 256, random).ok());
  EXPECT_FALSE(ShamirSplit(*HexDecodeSecret("0001"), 2, 3, random).ok());
  auto shares = *ShamirSplit(Key(), 2, 3, random);
  // Duplicate index.
  auto dup = Pick(shares, {1, 1});
  EXPECT_EQ(ShamirCombine(dup, 2).status().message(), "share 1 is given twice");
  // A third share that does not fit the other two.
  auto tampered = Pick(shares, {1, 2, 3});
  tampered[2].value.reveal_mut()[5] ^= 1;
  auto bad = ShamirCombine(tampered, 2);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("inconsistent"), std::string::npos);
  // Malformed lines; the digits never appear in messages.
  for (const char* line : {"", "abc",
                           "0-"
                           "00",
                           "256-00", "x-00", "1-zz", "1-0011",
                           "1-"
                           "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f00"}) {
    auto s = ParseShare(line);
    EXPECT_FALSE(s.ok()) << line;
    EXPECT_EQ(s.status().message().find("0001020304"), std::string::npos);
  }
  auto with_token = ParseShare("backup-3-" + std::string(64, 'A') + "\n");
  ASSERT_TRUE(with_token.ok());
  EXPECT_EQ(with_token->index, 3);
}

// Debian's ssss 0.5 (hex mode, 256-bit, diffusion on): its shares combine here and ours there.
TEST(ShamirTest, InteroperatesWithSsssBothWays) {
  if (access("/usr/bin/ssss-split", X_OK) != 0)
    GTEST_SKIP() << "ssss is not installed (scripts/install-deps.sh)";
  auto& random = crypto::SecureRandom::Get();
  for (int round = 0; round < 4; ++round) {
    const int t = 2 + round, n = 3 + 2 * round;
    SecretBytes key = random.RandomSecret(32);
    const std::string hex = HexEncode(key.reveal());
    // ssss → us.
    auto split = sirr::testing::Run({"/usr/bin/timeout", "20", "/usr/bin/ssss-split", "-t",
                                     std::to_string(t), "-n", std::to_string(n), "-x", "-q"},
                                    hex + "\n");
    ASSERT_EQ(split.exit_code, 0) << split.out;
    std::vector<Share> theirs;
    std::istringstream lines(split.out);
    for (std::string line; std::getline(lines, line);)
      if (!line.empty()) theirs.push_back(*ParseShare(line));
    ASSERT_EQ(theirs.size(), static_cast<size_t>(n));
    std::vector<Share> last_t;
    for (size_t i = theirs.size() - t; i < theirs.size(); ++i)
      last_t.push_back(Share{theirs[i].index, SecretBytes(theirs[i].value.reveal())});
    auto combined = ShamirCombine(last_t, t);
    ASSERT_TRUE(combined.ok()) << combined.status();
    EXPECT_EQ(HexEncode(combined->reveal()), hex);
    // us → ssss (the first t of ours).
    auto ours = *ShamirSplit(key, t, n, random);
    std::string input;
    for (int i = 0; i < t; ++i)
      input += std::string(FormatShare(ours[i], n).reveal_string()) + "\n";
    auto joined = sirr::testing::Run(
        {"/bin/sh", "-c",
         "/usr/bin/timeout 20 /usr/bin/ssss-combine -t " + std::to_string(t) + " -x -Q 2>&1"},
        input);
    ASSERT_EQ(joined.exit_code, 0) << joined.out;
    EXPECT_EQ(joined.out.substr(0, 64), hex);
  }
}

}  // namespace
}  // namespace sirr::seal

#include "crypto/zk/blake512.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/encoding.h"
#include "crypto/crypto.h"
#include "testing/subprocess.h"

namespace sirr::crypto::zk {
namespace {

// The BLAKE paper's (v1.3, appendix) BLAKE-512 examples: one zero byte and 144 zero bytes
// (the two-block case with a padding-only counter rule).
TEST(Blake512Test, PaperVectors) {
  const uint8_t one[1] = {0};
  EXPECT_EQ(HexEncode(Blake512(one)),
            "97961587f6d970faba6d2478045de6d1fabd09b61ae50932054d52bc29d31be4"
            "ff9102b9f69e2bbdb83be13d4b9c06091e5fa0b48bd081b634058be0ec49beb3");
  const std::vector<uint8_t> zeros(144, 0);
  EXPECT_EQ(HexEncode(Blake512(zeros)),
            "313717d608e9cf758dcb1eb0f0c3cf9fc150b2d500fb33f51c52afc99d358a2f"
            "1374b8a38bba7974e7f6ef79cab16f22ce1e649d6e01ad9589c213045d545dde");
}

TEST(Blake512Test, PiecesEqualWhole) {
  Bytes data = SecureRandom::Get().RandomBytes(300);
  for (size_t cut : {0, 1, 111, 112, 128, 129, 299, 300}) {
    const std::span<const uint8_t> parts[] = {std::span(data).first(cut),
                                              std::span(data).subspan(cut)};
    EXPECT_EQ(Blake512(parts), Blake512(data)) << cut;
  }
}

// The blake-hash npm package (circomlibjs's BLAKE-512) at every length across the padding
// boundaries (0..260 bytes: one, two and three blocks).
TEST(Blake512Test, AgreesWithBlakeHash) {
  const auto oracle = sirr::testing::NodeOracle(SIRR_NODE_ORACLE_DIR, SIRR_ORACLE_DIR,
                                                "babyjub_circom.mjs", "blake-hash");
  if (!oracle) GTEST_SKIP() << "circomlibjs is not installed (scripts/install-oracles.sh)";
  std::vector<Bytes> inputs;
  nlohmann::json items = nlohmann::json::array();
  for (size_t n = 0; n <= 260; ++n) {
    inputs.push_back(SecureRandom::Get().RandomBytes(n));
    items.push_back(HexEncode(inputs.back()));
  }
  auto run = sirr::testing::Run({"/usr/bin/node", *oracle, "blake"}, items.dump());
  ASSERT_EQ(run.exit_code, 0) << run.out.substr(0, 500);
  auto digests = nlohmann::json::parse(run.out);
  ASSERT_EQ(digests.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i)
    EXPECT_EQ(HexEncode(Blake512(inputs[i])), digests[i].get<std::string>()) << "length " << i;
}

}  // namespace
}  // namespace sirr::crypto::zk

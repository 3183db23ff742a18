#include "crypto/zk/poseidon.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/encoding.h"
#include "crypto/crypto.h"
#include "testing/subprocess.h"

namespace sirr::crypto::zk {
namespace {

U256 FromHex(std::string_view hex) {
  if (hex.starts_with("0x")) hex.remove_prefix(2);
  std::string padded(64 - hex.size(), '0');
  padded += hex;
  return *U256FromBe(*HexDecode(padded));
}
std::string ToHex(const U256& v) {
  std::string h = HexEncode(U256ToBe(v));
  const size_t nz = h.find_first_not_of('0');
  return "0x" + (nz == std::string::npos ? "0" : h.substr(nz));
}

// circomlib's published test value.
TEST(PoseidonTest, OfOneAndTwo) {
  const U256 in[] = {U256{1, 0, 0, 0}, U256{2, 0, 0, 0}};
  auto h = Poseidon(in);
  ASSERT_TRUE(h.has_value());
  // 7853200120776062878684798364095072458815029376092732009249414926327459813530
  EXPECT_EQ(ToHex(*h), "0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a");
}

TEST(PoseidonTest, RejectsBadInputs) {
  EXPECT_FALSE(Poseidon({}).has_value());
  std::vector<U256> seventeen(17, U256{1, 0, 0, 0});
  EXPECT_FALSE(Poseidon(seventeen).has_value());
  const U256 p_itself[] = {Fp().m()};
  EXPECT_FALSE(Poseidon(p_itself).has_value());
}

const std::filesystem::path kNodeDir = SIRR_NODE_ORACLE_DIR;

// Our Grain-generated round constants and MDS matrices equal circomlibjs's tables (produced by
// the reference generate_parameters_grain.sage) for every width circomlib supports.
TEST(PoseidonTest, GeneratedConstantsEqualCircomlib) {
  const auto file = kNodeDir / "node_modules/circomlibjs/src/poseidon_constants.json";
  if (!std::filesystem::exists(file))
    GTEST_SKIP() << "circomlibjs is not installed (scripts/install-oracles.sh)";
  std::ifstream in(file);
  const auto tables = nlohmann::json::parse(in);
  for (size_t inputs = 1; inputs <= kPoseidonMaxInputs; ++inputs) {
    SCOPED_TRACE("inputs " + std::to_string(inputs));
    const auto params = PoseidonParamsForTest(inputs);
    const auto& c = tables["C"][inputs - 1];
    const auto& m = tables["M"][inputs - 1];
    ASSERT_EQ(params.round_constants.size(), c.size());
    for (size_t i = 0; i < c.size(); ++i)
      ASSERT_EQ(params.round_constants[i], FromHex(c[i].get<std::string>())) << i;
    ASSERT_EQ(params.mds.size(), m.size());
    for (size_t i = 0; i < m.size(); ++i)
      for (size_t j = 0; j < m.size(); ++j)
        ASSERT_EQ(params.mds[i][j], FromHex(m[i][j].get<std::string>())) << i << "," << j;
  }
}

// Random inputs of every arity hashed by circomlibjs.
TEST(PoseidonTest, AgreesWithCircomlibjs) {
  const auto oracle = sirr::testing::NodeOracle(SIRR_NODE_ORACLE_DIR, SIRR_ORACLE_DIR,
                                                "babyjub_circom.mjs", "circomlibjs");
  if (!oracle) GTEST_SKIP() << "circomlibjs is not installed (scripts/install-oracles.sh)";
  std::vector<std::vector<U256>> cases;
  nlohmann::json items = nlohmann::json::array();
  for (size_t n = 1; n <= kPoseidonMaxInputs; ++n) {
    std::vector<U256> xs;
    nlohmann::json js = nlohmann::json::array();
    for (size_t i = 0; i < n; ++i) {
      Bytes b = SecureRandom::Get().RandomBytes(32);
      xs.push_back(Fp().Reduce(U256FromLe(std::span<const uint8_t, 32>(b.data(), 32))));
      js.push_back(ToHex(xs.back()));
    }
    cases.push_back(xs);
    items.push_back(js);
  }
  auto run = sirr::testing::Run({"/usr/bin/node", *oracle, "poseidon"}, items.dump());
  ASSERT_EQ(run.exit_code, 0) << run.out.substr(0, 500);
  auto hashes = nlohmann::json::parse(run.out);
  ASSERT_EQ(hashes.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i)
    EXPECT_EQ(ToHex(*Poseidon(cases[i])), hashes[i].get<std::string>()) << "inputs " << i + 1;
}

}  // namespace
}  // namespace sirr::crypto::zk

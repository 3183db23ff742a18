#include "crypto/hd/bip39.h"

#include <gtest/gtest.h>

#include "base/encoding.h"
#include "crypto/crypto.h"
#include "testing/subprocess.h"

namespace sirr::crypto::hd {
namespace {

TEST(Bip39Test, ShippedWordlistIsTheStandardEnglishList) {
  // SHA-256 of the BIP39 reference english.txt.
  EXPECT_EQ(HexEncode(Sha256(AsBytes(Bip39EnglishWordlistText()))),
            "2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda");
  EXPECT_EQ(Bip39Word(0), "abandon");
  EXPECT_EQ(Bip39Word(2047), "zoo");
}

struct Vector {
  const char* entropy;
  const char* mnemonic;
};

// From the Trezor reference vectors (python-mnemonic vectors.json).
const Vector kVectors[] = {
    {"00000000000000000000000000000000",
     "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
     "about"},
    {"7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
     "legal winner thank year wave sausage worth useful legal winner thank yellow"},
    {"ffffffffffffffffffffffffffffffff", "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong"},
    {"0000000000000000000000000000000000000000000000000000000000000000",
     "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
     "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
     "abandon art"},
    {"7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
     "legal winner thank year wave sausage worth useful legal winner thank year wave sausage "
     "worth useful legal winner thank year wave sausage worth title"},
    {"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo "
     "vote"},
    {"9e885d952ad362caeb4efe34a8e91bd2",
     "ozone drill grab fiber curtain grace pudding thank cruise elder eight picnic"},
    {"68a79eaca2324873eacc50cb9c6eca8cc68ea5d936f98787c60c7ebc74e6ce7c",
     "hamster diagram private dutch cause delay private meat slide toddler razor book happy "
     "fancy gospel tennis maple dilemma loan word shrug inflict delay length"},
};

TEST(Bip39Test, TrezorVectorsBothWays) {
  for (const auto& v : kVectors) {
    Bytes entropy = *HexDecode(v.entropy);
    auto mnemonic = EntropyToMnemonic(entropy);
    ASSERT_TRUE(mnemonic.ok());
    EXPECT_EQ(mnemonic->reveal_string(), v.mnemonic);
    auto back = MnemonicToEntropy(v.mnemonic);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(HexEncode(back->reveal()), v.entropy);
  }
}

TEST(Bip39Test, ToleratesExtraWhitespace) {
  auto e = MnemonicToEntropy("  zoo zoo\tzoo zoo zoo zoo zoo zoo zoo zoo zoo\n wrong \n");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(HexEncode(e->reveal()), "ffffffffffffffffffffffffffffffff");
}

TEST(Bip39Test, RejectsBadChecksumUnknownWordAndWordCount) {
  auto bad_checksum = MnemonicToEntropy("zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo");
  EXPECT_NE(bad_checksum.status().message().find("checksum"), std::string::npos);
  auto unknown = MnemonicToEntropy("zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrongg");
  EXPECT_NE(unknown.status().message().find("word 12"), std::string::npos);
  EXPECT_EQ(unknown.status().message().find("wrongg"), std::string::npos);
  auto count = MnemonicToEntropy("zoo zoo zoo");
  EXPECT_NE(count.status().message().find("got 3"), std::string::npos);
  EXPECT_FALSE(MnemonicToEntropy("").ok());
  EXPECT_FALSE(MnemonicToEntropy("Zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong").ok());
  EXPECT_FALSE(EntropyToMnemonic(Bytes(15)).ok());
}

// Random entropy cross-checked against python3-mnemonic (Trezor's implementation).
TEST(Bip39Test, AgreesWithPythonMnemonic) {
  if (!sirr::testing::PythonHas("mnemonic"))
    GTEST_SKIP() << "python3-mnemonic is not installed (scripts/install-deps.sh installs it)";
  std::string script;
  std::vector<Bytes> entropies;
  for (int i = 0; i < 20; ++i) {
    Bytes e = SecureRandom::Get().RandomBytes(16 + 4 * static_cast<size_t>(i % 5));
    entropies.push_back(e);
    script += HexEncode(e) + "\n";
  }
  auto r = sirr::testing::Run(
      {"/usr/bin/python3", "-c",
       "import sys\nfrom mnemonic import Mnemonic\nm=Mnemonic('english')\n"
       "for l in sys.stdin.read().split():\n  print(m.to_mnemonic(bytes.fromhex(l)))"},
      script);
  ASSERT_EQ(r.exit_code, 0);
  std::istringstream lines(r.out);
  for (const auto& e : entropies) {
    std::string expected;
    std::getline(lines, expected);
    EXPECT_EQ(EntropyToMnemonic(e)->reveal_string(), expected);
    EXPECT_EQ(HexEncode(MnemonicToEntropy(expected)->reveal()), HexEncode(e));
  }
}

}  // namespace
}  // namespace sirr::crypto::hd

#include "crypto/hd/bip32.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/encoding.h"
#include "crypto/crypto.h"
#include "crypto/hd/bip39.h"
#include "crypto/hd/keccak.h"
#include "crypto/secp256k1.h"
#include "testing/subprocess.h"

namespace sirr::crypto::hd {
namespace {

struct Chain {
  const char* path;
  const char* xpub;
  const char* xprv;
};

SecretBytes Seed(std::string_view hex) { return SecretBytes(*HexDecode(hex)); }

// Derives every chain of a published vector from the seed and compares both serialisations:
// the xpub as text, the xprv through its decoded fields (we never serialise private keys).
void CheckVector(std::string_view seed_hex, const std::vector<Chain>& chains) {
  auto master = MasterKey(Seed(seed_hex));
  ASSERT_TRUE(master.ok()) << master.status();
  for (const auto& c : chains) {
    SCOPED_TRACE(c.path);
    auto path = ParsePath(c.path);
    ASSERT_TRUE(path.ok()) << path.status();
    EXPECT_EQ(FormatPath(*path), std::string(c.path));
    auto key = DerivePath(*master, *path);
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(SerializePublic(*key), c.xpub);
    auto expected = ParseExtendedKey(c.xprv);
    ASSERT_TRUE(expected.ok()) << expected.status();
    ASSERT_TRUE(expected->has_private());
    EXPECT_TRUE(key->private_key.reveal().size() == 32);
    EXPECT_TRUE(std::equal(key->private_key.reveal().begin(), key->private_key.reveal().end(),
                           expected->private_key.reveal().begin()));
    EXPECT_EQ(key->depth, expected->depth);
    EXPECT_EQ(key->parent_fingerprint, expected->parent_fingerprint);
    EXPECT_EQ(key->child_number, expected->child_number);
    // Public derivation from the parent's xpub gives the same key for non-hardened steps.
    if (!path->empty() && !(path->back() & kHardened)) {
      auto parent = DerivePath(*master, std::span(*path).first(path->size() - 1));
      auto parent_pub = ParseExtendedKey(SerializePublic(*parent));
      ASSERT_TRUE(parent_pub.ok());
      ASSERT_FALSE(parent_pub->has_private());
      auto child = DeriveChild(*parent_pub, path->back());
      ASSERT_TRUE(child.ok());
      EXPECT_EQ(SerializePublic(*child), c.xpub);
    }
  }
}

// Test vectors 1-3 of BIP32 (bitcoin/bips, bip-0032.mediawiki).
TEST(Bip32Test, PublishedVector1) {
  CheckVector("000102030405060708090a0b0c0d0e0f",
              {{"m",
                "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtG"
                "qsefD265TMg7usUDFdp6W1EGMcet8",
                "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5k"
                "ejMRNNU3TGtRBeJgk33yuGBxrMPHi"},
               {"m/0'",
                "xpub68Gmy5EdvgibQVfPdqkBBCHxA5htiqg55crXYuXoQRKfDBFA1WEjWgP6LHhwBZeNK1VTsfTFUHCdrf"
                "p1bgwQ9xv5ski8PX9rL2dZXvgGDnw",
                "xprv9uHRZZhk6KAJC1avXpDAp4MDc3sQKNxDiPvvkX8Br5ngLNv1TxvUxt4cV1rGL5hj6KCesnDYUhd7oW"
                "gT11eZG7XnxHrnYeSvkzY7d2bhkJ7"},
               {"m/0'/1",
                "xpub6ASuArnXKPbfEwhqN6e3mwBcDTgzisQN1wXN9BJcM47sSikHjJf3UFHKkNAWbWMiGj7Wf5uMash7Sy"
                "Yq527Hqck2AxYysAA7xmALppuCkwQ",
                "xprv9wTYmMFdV23N2TdNG573QoEsfRrWKQgWeibmLntzniatZvR9BmLnvSxqu53Kw1UmYPxLgboyZQaXwT"
                "Cg8MSY3H2EU4pWcQDnRnrVA1xe8fs"},
               {"m/0'/1/2'",
                "xpub6D4BDPcP2GT577Vvch3R8wDkScZWzQzMMUm3PWbmWvVJrZwQY4VUNgqFJPMM3No2dFDFGTsxxpG5uJ"
                "h7n7epu4trkrX7x7DogT5Uv6fcLW5",
                "xprv9z4pot5VBttmtdRTWfWQmoH1taj2axGVzFqSb8C9xaxKymcFzXBDptWmT7FwuEzG3ryjH4ktypQSAe"
                "wRiNMjANTtpgP4mLTj34bhnZX7UiM"},
               {"m/0'/1/2'/2",
                "xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj"
                "37sR62cfN7fe5JnJ7dh8zL4fiyLHV",
                "xprvA2JDeKCSNNZky6uBCviVfJSKyQ1mDYahRjijr5idH2WwLsEd4Hsb2Tyh8RfQMuPh7f7RtyzTtdrbdq"
                "qsunu5Mm3wDvUAKRHSC34sJ7in334"},
               {"m/0'/1/2'/2/1000000000",
                "xpub6H1LXWLaKsWFhvm6RVpEL9P4KfRZSW7abD2ttkWP3SSQvnyA8FSVqNTEcYFgJS2UaFcxupHiYkro49"
                "S8yGasTvXEYBVPamhGW6cFJodrTHy",
                "xprvA41z7zogVVwxVSgdKUHDy1SKmdb533PjDz7J6N6mV6uS3ze1ai8FHa8kmHScGpWmj4WggLyQjgPie1"
                "rFSruoUihUZREPSL39UNdE3BBDu76"}});
}

TEST(Bip32Test, PublishedVector2) {
  CheckVector(
      "fffcf9f6f3f0edeae7e4e1dedbd8d5d2cfccc9c6c3c0bdbab7b4b1aeaba8a5a29f9c999693908d8a8784817e7b"
      "7875726f6c696663605d5a5754514e4b484542",
      {{"m",
        "xpub661MyMwAqRbcFW31YEwpkMuc5THy2PSt5bDMsktWQcFF8syAmRUapSCGu8ED9W6oDMSgv6Zz8idoc4a6mr8BDz"
        "TJY47LJhkJ8UB7WEGuduB",
        "xprv9s21ZrQH143K31xYSDQpPDxsXRTUcvj2iNHm5NUtrGiGG5e2DtALGdso3pGz6ssrdK4PFmM8NSpSBHNqPqm55Q"
        "n3LqFtT2emdEXVYsCzC2U"},
       {"m/0",
        "xpub69H7F5d8KSRgmmdJg2KhpAK8SR3DjMwAdkxj3ZuxV27CprR9LgpeyGmXUbC6wb7ERfvrnKZjXoUmmDznezpbZb"
        "7ap6r1D3tgFxHmwMkQTPH",
        "xprv9vHkqa6EV4sPZHYqZznhT2NPtPCjKuDKGY38FBWLvgaDx45zo9WQRUT3dKYnjwih2yJD9mkrocEZXo1ex8G81d"
        "wSM1fwqWpWkeS3v86pgKt"},
       {"m/0/2147483647'",
        "xpub6ASAVgeehLbnwdqV6UKMHVzgqAG8Gr6riv3Fxxpj8ksbH9ebxaEyBLZ85ySDhKiLDBrQSARLq1uNRts8RuJiHj"
        "aDMBU4Zn9h8LZNnBC5y4a",
        "xprv9wSp6B7kry3Vj9m1zSnLvN3xH8RdsPP1Mh7fAaR7aRLcQMKTR2vidYEeEg2mUCTAwCd6vnxVrcjfy2kRgVsFaw"
        "NzmjuHc2YmYRmagcEPdU9"},
       {"m/0/2147483647'/1",
        "xpub6DF8uhdarytz3FWdA8TvFSvvAh8dP3283MY7p2V4SeE2wyWmG5mg5EwVvmdMVCQcoNJxGoWaU9DCWh89LojfZ5"
        "37wTfunKau47EL2dhHKon",
        "xprv9zFnWC6h2cLgpmSA46vutJzBcfJ8yaJGg8cX1e5StJh45BBciYTRXSd25UEPVuesF9yog62tGAQtHjXajPPdbR"
        "CHuWS6T8XA2ECKADdw4Ef"},
       {"m/0/2147483647'/1/2147483646'",
        "xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4koxb5JaHWkY4ALHY2grBGR"
        "jaDMzQLcgJvLJuZZvRcEL",
        "xprvA1RpRA33e1JQ7ifknakTFpgNXPmW2YvmhqLQYMmrj4xJXXWYpDPS3xz7iAxn8L39njGVyuoseXzU6rcxFLJ8HF"
        "sTjSyQbLYnMpCqE2VbFWc"},
       {"m/0/2147483647'/1/2147483646'/2",
        "xpub6FnCn6nSzZAw5Tw7cgR9bi15UV96gLZhjDstkXXxvCLsUXBGXPdSnLFbdpq8p9HmGsApME5hQTZ3emM2rnY5ag"
        "b9rXpVGyy3bdW6EEgAtqt",
        "xprvA2nrNbFZABcdryreWet9Ea4LvTJcGsqrMzxHx98MMrotbir7yrKCEXw7nadnHM8Dq38EGfSh6dqA9QWTyefMLE"
        "cBYJUuekgW4BYPJcr9E7j"}});
}

// Retention of leading zeros.
TEST(Bip32Test, PublishedVector3) {
  CheckVector(
      "4b381541583be4423346c643850da4b320e46a87ae3d2a4e6da11eba819cd4acba45d239319ac14f863b8d5ab5"
      "a0d0c64d2e8a1e7d1457df2e5a3c51c73235be",
      {{"m",
        "xpub661MyMwAqRbcEZVB4dScxMAdx6d4nFc9nvyvH3v4gJL378CSRZiYmhRoP7mBy6gSPSCYk6SzXPTf3ND1cZAceL"
        "7SfJ1Z3GC8vBgp2epUt13",
        "xprv9s21ZrQH143K25QhxbucbDDuQ4naNntJRi4KUfWT7xo4EKsHt2QJDu7KXp1A3u7Bi1j8ph3EGsZ9Xvz9dGuVrt"
        "HHs7pXeTzjuxBrCmmhgC6"},
       {"m/0'",
        "xpub68NZiKmJWnxxS6aaHmn81bvJeTESw724CRDs6HbuccFQN9Ku14VQrADWgqbhhTHBaohPX4CjNLf9fq9MYo6oDa"
        "PPLPxSb7gwQN3ih19Zm4Y",
        "xprv9uPDJpEQgRQfDcW7BkF7eTya6RPxXeJCqCJGHuCJ4GiRVLzkTXBAJMu2qaMWPrS7AANYqdq6vcBcBUdJCVVFce"
        "UvJFjaPdGZ2y9WACViL4L"}});
}

TEST(Bip32Test, PathsParseStrictly) {
  EXPECT_EQ(FormatPath(*ParsePath("m/44h/60H/0'/0/0")), "m/44'/60'/0'/0/0");
  EXPECT_TRUE(ParsePath("m")->empty());
  for (const char* bad :
       {"", "44'/0", "m/", "m//1", "m/01", "m/-1", "m/2147483648", "m/1x", "m/1''", "n/1", "m1"})
    EXPECT_FALSE(ParsePath(bad).ok()) << bad;
}

TEST(Bip32Test, HardenedChildOfPublicKeyFails) {
  auto master = MasterKey(Seed("000102030405060708090a0b0c0d0e0f"));
  auto pub = ParseExtendedKey(SerializePublic(*master));
  EXPECT_EQ(DeriveChild(*pub, kHardened).status().code(), StatusCode::kInvalidArgument);
}

TEST(Bip32Test, BadExtendedKeysAreRefused) {
  std::string good =
      "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TM"
      "g7usUDFdp6W1EGMcet8";
  std::string flipped = good;
  flipped[20] = flipped[20] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(ParseExtendedKey(flipped).ok());  // checksum
  EXPECT_FALSE(ParseExtendedKey("0OIl").ok());   // not Base58
  EXPECT_FALSE(ParseExtendedKey("").ok());
  EXPECT_EQ(Base58CheckEncode(*Base58CheckDecode(good)), good);
}

// Trezor's published BIP39 vectors use the passphrase "TREZOR"; two of them:
TEST(Bip39SeedTest, TrezorVectors) {
  auto seed = Bip39Seed(
      "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
      "about",
      "TREZOR");
  ASSERT_TRUE(seed.ok());
  EXPECT_EQ(
      HexEncode(seed->reveal()),
      "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c9"
      "2f2cf141630c7a3c4ab7c81b2f001698e7463b04");
  auto seed2 = Bip39Seed(
      "legal winner thank year wave sausage worth useful legal winner thank yellow", "TREZOR");
  EXPECT_EQ(HexEncode(seed2->reveal()),
            "2e8905819b8723fe2c1d161860e5ee1830318dbf49a83bd451cfb8440c28bd6fa457fe1296106559a3c809"
            "37a1c1069be3a3a5bd381ee6260e8d9739fce1f607");
}

// NFKD: a passphrase in composed and decomposed form gives the same seed.
TEST(Bip39SeedTest, PassphraseIsNfkdNormalised) {
  std::string m =
      "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
      "about";
  auto composed = Bip39Seed(m, "caf\xc3\xa9");     // é as U+00E9
  auto decomposed = Bip39Seed(m, "cafe\xcc\x81");  // e + U+0301
  ASSERT_TRUE(composed.ok() && decomposed.ok());
  EXPECT_EQ(HexEncode(composed->reveal()), HexEncode(decomposed->reveal()));
  EXPECT_FALSE(Bip39Seed(m, "\xff").ok());
}

// Random mnemonics (our BIP39) with ASCII and non-ASCII passphrases: python3-mnemonic's seeds.
TEST(Bip39SeedTest, AgreesWithPythonMnemonic) {
  if (!sirr::testing::PythonHas("mnemonic"))
    GTEST_SKIP() << "python3-mnemonic is not installed (scripts/install-deps.sh installs it)";
  const std::vector<std::string> passphrases = {"", "TREZOR", "p\xc3\xa4ss \xe2\x84\xa2",
                                                "cafe\xcc\x81", "\xef\xbc\xa1\xef\xbc\xa2"};
  nlohmann::json items = nlohmann::json::array();
  std::vector<std::pair<std::string, std::string>> cases;
  for (int i = 0; i < 10; ++i) {
    Bytes entropy = SecureRandom::Get().RandomBytes(16 + 4 * static_cast<size_t>(i % 5));
    std::string mnemonic(EntropyToMnemonic(entropy)->reveal_string());
    const std::string& pass = passphrases[static_cast<size_t>(i) % passphrases.size()];
    items.push_back({mnemonic, pass});
    cases.emplace_back(mnemonic, pass);
  }
  auto r = sirr::testing::Run(
      {"/usr/bin/python3", "-c",
       "import json,sys\nfrom mnemonic import Mnemonic\n"
       "print(json.dumps([Mnemonic.to_seed(m, p).hex() for m, p in json.load(sys.stdin)]))"},
      items.dump());
  ASSERT_EQ(r.exit_code, 0) << r.out.substr(0, 500);
  auto seeds = nlohmann::json::parse(r.out);
  ASSERT_EQ(seeds.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i)
    EXPECT_EQ(HexEncode(Bip39Seed(cases[i].first, cases[i].second)->reveal()),
              seeds[i].get<std::string>())
        << i;
}

// @scure/bip39 + @scure/bip32 (npm): seeds, root xpubs, keys and Ethereum addresses at random
// BIP44 and arbitrary paths.
TEST(Bip32Test, AgreesWithScureAtRandomPaths) {
  const auto oracle =
      sirr::testing::NodeOracle(SIRR_NODE_ORACLE_DIR, SIRR_ORACLE_DIR, "hd_scure.mjs", "@scure");
  if (!oracle) GTEST_SKIP() << "@scure/bip32 is not installed (scripts/install-oracles.sh)";
  auto& random = SecureRandom::Get();
  auto index = [&](uint32_t limit) {
    Bytes b = random.RandomBytes(4);
    return (uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3]) % limit;
  };
  struct Case {
    std::string mnemonic, passphrase, path;
  };
  std::vector<Case> cases;
  nlohmann::json items = nlohmann::json::array();
  for (int i = 0; i < 16; ++i) {
    Case c;
    c.mnemonic = std::string(EntropyToMnemonic(random.RandomBytes(32))->reveal_string());
    c.passphrase = i % 3 == 0 ? "" : "pass" + std::to_string(i);
    std::vector<uint32_t> path;
    if (i % 2 == 0) {  // BIP44: m/44'/coin'/account'/change/index
      path = {44 | kHardened, (i % 4 == 0 ? 60u : 0u) | kHardened, index(5) | kHardened, index(2),
              index(kHardened)};
    } else {
      for (uint32_t d = 0, n = 1 + index(6); d < n; ++d)
        path.push_back(index(kHardened) | (index(2) ? kHardened : 0));
    }
    c.path = FormatPath(path);
    items.push_back({{"mnemonic", c.mnemonic}, {"passphrase", c.passphrase}, {"path", c.path}});
    cases.push_back(std::move(c));
  }
  auto run = sirr::testing::Run({"/usr/bin/node", *oracle}, items.dump());
  ASSERT_EQ(run.exit_code, 0) << run.out.substr(0, 500);
  auto scure = nlohmann::json::parse(run.out);
  ASSERT_EQ(scure.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].path);
    auto seed = Bip39Seed(cases[i].mnemonic, cases[i].passphrase);
    ASSERT_TRUE(seed.ok());
    EXPECT_EQ(HexEncode(seed->reveal()), scure[i]["seed"].get<std::string>());
    auto root = MasterKey(*seed);
    EXPECT_EQ(SerializePublic(*root), scure[i]["root_xpub"].get<std::string>());
    auto key = DerivePath(*root, *ParsePath(cases[i].path));
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(SerializePublic(*key), scure[i]["xpub"].get<std::string>());
    EXPECT_EQ(HexEncode(key->public_key), scure[i]["public_key"].get<std::string>());
    EXPECT_EQ(HexEncode(key->private_key.reveal()), scure[i]["private_key"].get<std::string>());
    auto uncompressed = secp256k1::ConvertPublicKey(key->public_key, false);
    EXPECT_EQ(*EthereumAddress(*uncompressed), scure[i]["address"].get<std::string>());
  }
}

// The well-known first Ethereum account of the "abandon … about" mnemonic.
TEST(Bip32Test, Bip44EthereumAddressOfTheAbandonMnemonic) {
  auto seed = Bip39Seed(
      "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
      "about",
      "");
  auto key = DerivePath(*MasterKey(*seed), *ParsePath("m/44'/60'/0'/0/0"));
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(*EthereumAddress(*secp256k1::ConvertPublicKey(key->public_key, false)),
            "0x9858EfFD232B4033E47d90003D41EC34EcaEda94");
}

}  // namespace
}  // namespace sirr::crypto::hd

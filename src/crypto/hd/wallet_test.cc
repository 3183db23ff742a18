#include "crypto/hd/wallet.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "base/encoding.h"
#include "base/random.h"
#include "crypto/secp256k1.h"

namespace sirr::crypto::hd {
namespace {

constexpr const char* kAbandon =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
    "about";

TEST(WalletTest, CoinsAreOnlyBitcoinAndEthereum) {
  EXPECT_EQ(*CoinFromNumber(60), Coin::kEthereum);
  EXPECT_EQ(*CoinFromNumber(0), Coin::kBitcoin);
  EXPECT_EQ(*CoinFromAbbreviation("eth"), Coin::kEthereum);
  EXPECT_EQ(*CoinFromAbbreviation("BTC"), Coin::kBitcoin);
  EXPECT_EQ(CoinFromNumber(2).status().code(), StatusCode::kInvalidArgument);  // Litecoin
  EXPECT_EQ(CoinFromAbbreviation("LTC").status().code(), StatusCode::kInvalidArgument);
}

TEST(WalletTest, Bip44PathsParseStrictly) {
  auto p = ParseBip44Path("m/44'/60'/2'/0/7");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->coin, Coin::kEthereum);
  EXPECT_EQ(p->account, 2u);
  EXPECT_EQ(p->index, 7u);
  EXPECT_EQ(p->ToString(), "m/44'/60'/2'/0/7");
  EXPECT_EQ(ParseBip44Path("m/44h/0h/0h/1/0")->ToString(), "m/44'/0'/0'/1/0");
  for (const char* bad :
       {"m/44'/60'/0'/0", "m/44'/60'/0'/0/0/0", "m/49'/60'/0'/0/0", "m/44'/60/0'/0/0",
        "m/44'/60'/0/0/0", "m/44'/60'/0'/0'/0", "m/44'/60'/0'/2/0", "m/44'/2'/0'/0/0", "garbage"})
    EXPECT_EQ(ParseBip44Path(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  EXPECT_FALSE(MakeBip44Path(Coin::kEthereum, -1, 0, 0).ok());
  EXPECT_FALSE(MakeBip44Path(Coin::kEthereum, 0, 0, 1LL << 31).ok());
}

TEST(WalletTest, MaterialIsCanonicalAndChecked) {
  auto m = EncodeMaterial(
      "  abandon abandon abandon abandon abandon abandon abandon abandon "
      "abandon abandon abandon   about\n",
      "pw");
  ASSERT_TRUE(m.ok()) << m.status();
  auto canonical = MaterialMnemonic(*m);
  ASSERT_TRUE(canonical.ok());
  EXPECT_EQ(canonical->reveal_string(), kAbandon);
  // Wrong checksum (last word changed), unknown word: refused, with no word in the message.
  auto bad = EncodeMaterial(
      "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
      "abandon",
      "");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  auto unknown = EncodeMaterial("zzzz abandon", "");
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(unknown.status().message().find("zzzz"), std::string::npos);
  DeterministicRandom random;
  auto generated = *GenerateMaterial(random);
  auto mnemonic = MaterialMnemonic(generated);
  ASSERT_TRUE(mnemonic.ok());
  auto words = mnemonic->reveal_string();
  EXPECT_EQ(std::count(words.begin(), words.end(), ' '), 23);  // 24 words
}

// Known Ethereum accounts of the "abandon … about" mnemonic (the first is the widely
// published 0x9858…; Bip32Test checks derivation against @scure/bip32 for random paths).
TEST(WalletTest, DerivesEthereumAndBitcoinKeys) {
  auto wallet = Wallet::FromMaterial(*EncodeMaterial(kAbandon, ""));
  ASSERT_TRUE(wallet.ok()) << wallet.status();
  EXPECT_EQ(wallet->RootXpub(),
            "xpub661MyMwAqRbcFkPHucMnrGNzDwb6teAX1RbKQmqtEF8kK3Z7LZ59qafCjB9eCRLiTVG3uxBxgKvRgbubRh"
            "qSKXnGGb1aoaqLrpMBDrVxga8");
  auto eth = wallet->Derive(*ParseBip44Path("m/44'/60'/0'/0/0"));
  ASSERT_TRUE(eth.ok());
  EXPECT_EQ(eth->address, "0x9858EfFD232B4033E47d90003D41EC34EcaEda94");
  EXPECT_EQ(HexEncode(eth->key.public_key),
            "0237b0bb7a8288d38ed49a524b5dc98cff3eb5ca824c9f9dc0dfdb3d9cd600f299");
  auto btc = wallet->Derive(*MakeBip44Path(Coin::kBitcoin, 0, 0, 0));
  ASSERT_TRUE(btc.ok());
  EXPECT_TRUE(btc->address.empty());
  EXPECT_EQ(btc->key.public_key.size(), 33u);
  EXPECT_EQ(*secp256k1::CompressedPublicKey(btc->key.private_key), btc->key.public_key);
  // The passphrase changes everything.
  auto other = Wallet::FromMaterial(*EncodeMaterial(kAbandon, "TREZOR"));
  EXPECT_NE(other->RootXpub(), wallet->RootXpub());
}

}  // namespace
}  // namespace sirr::crypto::hd

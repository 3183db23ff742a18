#include "crypto/share_link.h"

#include <gtest/gtest.h>

#include "base/encoding.h"
#include "crypto/crypto.h"

namespace sirr::crypto::share {
namespace {

TEST(ShareLink, SealOpenRoundTripAndTamperIsRefused) {
  auto& random = SecureRandom::Get();
  SecretBytes k = NewLinkKey(random);
  std::string text("binary\0value", 12);
  auto blob = Seal(k, AsBytes(text), random);
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ(blob->size(), text.size() + kOverhead);
  EXPECT_EQ((*blob)[0], kVersion);
  auto plain = Open(k, *blob);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->reveal_string(), text);
  Bytes t = *blob;
  t.back() ^= 1;
  EXPECT_FALSE(Open(k, t).ok());
  EXPECT_FALSE(Open(NewLinkKey(random), *blob).ok());
  EXPECT_FALSE(Open(k, std::span(*blob).first(10)).ok());
}

// Fixed key: the derivations are HKDF-SHA-256 with the documented labels (cross-checked in
// Python and in the browser by the share tests; these values pin the format).
TEST(ShareLink, ProofIsHkdfOfTheLinkKey) {
  SecretBytes k(32);
  for (size_t i = 0; i < 32; ++i) k.reveal_mut()[i] = static_cast<uint8_t>(i);
  auto expect = HkdfSha256(k, {}, "sirr-share-v1 proof", 32);
  ASSERT_TRUE(expect.ok());
  auto proof = Proof(k);
  EXPECT_TRUE(std::equal(proof.begin(), proof.end(), expect->reveal().begin()));
  EXPECT_EQ(ProofHash(k), Sha256(proof));
}

TEST(ShareLink, ParsesWholeLinksAndRefusesPartialOnes) {
  SecretBytes k = NewLinkKey(SecureRandom::Get());
  std::string frag = Base64Encode(k.reveal(), Base64Alphabet::kUrlSafe);
  auto p =
      ParseLink("https://vault.example.com:8443/s/0b6f7a1e-0000-4000-8000-000000000000#" + frag);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->server, "https://vault.example.com:8443");
  EXPECT_EQ(p->id, "0b6f7a1e-0000-4000-8000-000000000000");
  EXPECT_EQ(p->key.reveal_string(), k.reveal_string());
  EXPECT_FALSE(ParseLink("https://vault.example.com/s/abc").ok());          // no fragment
  EXPECT_FALSE(ParseLink("https://vault.example.com/s/abc#short").ok());    // not a key
  EXPECT_FALSE(ParseLink("https://vault.example.com/x/abc#" + frag).ok());  // not /s/
  EXPECT_FALSE(ParseLink("vault.example.com/s/abc#" + frag).ok());          // no scheme
}

}  // namespace
}  // namespace sirr::crypto::share

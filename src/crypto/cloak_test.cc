#include "crypto/cloak.h"

#include <gtest/gtest.h>

#include "crypto/crypto.h"

namespace sirr::crypto {
namespace {

TEST(CloakTest, RoundTripsAndWipes) {
  SecretBytes key = SecureRandom::Get().RandomSecret(32);
  auto cloaked = CloakedKey::Cloak(key.reveal());
  ASSERT_TRUE(cloaked.ok()) << cloaked.status();
  EXPECT_EQ(cloaked->size(), 32u);
  EXPECT_TRUE(cloaked->Decloak().Equals(key));
  CloakedKey moved = std::move(cloaked).value();
  EXPECT_TRUE(moved.Decloak().Equals(key));
  moved.Wipe();
  EXPECT_TRUE(moved.empty());
  EXPECT_TRUE(moved.Decloak().empty());
}

TEST(CloakTest, RejectsEmptyAndOversized) {
  EXPECT_FALSE(CloakedKey::Cloak({}).ok());
  SecretBytes big(CloakedKey::kMaxSize + 1);
  EXPECT_FALSE(CloakedKey::Cloak(big.reveal()).ok());
}

TEST(CloakTest, TwoCloaksOfOneKeyDiffer) {
  // Random nonces: the cloaked form never repeats, so it says nothing about the key.
  SecretBytes key = SecureRandom::Get().RandomSecret(32);
  auto a = CloakedKey::Cloak(key.reveal());
  auto b = CloakedKey::Cloak(key.reveal());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(a->Decloak().Equals(b->Decloak()));
}

TEST(CloakTest, HardenProcessIsIdempotent) {
  std::string warning;
  EXPECT_TRUE(HardenProcess(&warning).ok());
  EXPECT_TRUE(HardenProcess(&warning).ok());
}

}  // namespace
}  // namespace sirr::crypto

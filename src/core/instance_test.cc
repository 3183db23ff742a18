#include "core/instance.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "core/core_test_env.h"
#include "crypto/crypto.h"

namespace sirr::core {
namespace {

// A vault row holding a freshly wrapped key (no storage needed to exercise the key cache).
storage::VaultRow NewVault(Instance& instance, std::string id) {
  static DeterministicRandom random(7);
  storage::VaultRow v;
  v.id = std::move(id);
  v.wrapped_key = *instance.NewWrappedVaultKey(v.id, random);
  return v;
}

size_t MappingCount() {
  std::ifstream maps("/proc/self/maps");
  size_t n = 0;
  for (std::string line; std::getline(maps, line);) ++n;
  return n;
}

// Every cached vault key used to cost its own locked allocation (4 mappings); at ~16,350
// vaults the process hit vm.max_map_count and every uncached vault answered 429 until a
// restart. Now the cache is bounded and cloaked keys share slabs: 20,000 vaults, each used once,
// all stay usable and the mappings stay few.
// An unsealed instance whose vault-key cache holds at most `limit` keys.
class InstanceTest : public ::testing::Test {
 protected:
  void Unseal(size_t limit) {
    SealOptions options;
    options.vault_key_cache = limit;
    env_.Make(options);
    ASSERT_TRUE(env_.keeper_->Unseal(env_.random_.RandomSecret(32)).ok());
    auto acquired = env_.keeper_->Acquire();
    ASSERT_TRUE(acquired.ok());
    instance_ = *acquired;
  }
  testing::CoreEnv env_{"sirr-instance"};
  std::shared_ptr<Instance> instance_;
};

TEST_F(InstanceTest, TwentyThousandVaultKeysStayUsableWithBoundedCacheAndMappings) {
  ASSERT_NO_FATAL_FAILURE(Unseal(1000));
  auto* instance = &instance_;
  auto& env = env_;
  const size_t before = MappingCount();
  storage::VaultRow first;
  for (int i = 0; i < 20000; ++i) {
    storage::VaultRow v = NewVault(**instance, "vault-" + std::to_string(i));
    auto key = (*instance)->KeyFor(v);
    ASSERT_TRUE(key.ok()) << i << ": " << key.status();
    if (i == 0) first = v;
  }
  EXPECT_LE((*instance)->cached_vault_keys(), 1000u);
  const size_t grown = MappingCount() - before;
  EXPECT_LT(grown, 200u) << "mappings grew by " << grown;
  // An evicted key is unwrapped again, and is the same key.
  auto again = (*instance)->KeyFor(first);
  ASSERT_TRUE(again.ok());
  auto sealed = env.storage_->GetVault("default", "");
  ASSERT_TRUE(sealed.ok());
  EXPECT_TRUE((*instance)->KeyFor(*sealed).ok());
}

// Keys used again and again stay cached while one-off keys pass through (second chance).
TEST_F(InstanceTest, FrequentlyUsedVaultKeysSurviveEviction) {
  ASSERT_NO_FATAL_FAILURE(Unseal(8));
  auto& instance = instance_;
  const storage::VaultRow hot = NewVault(*instance, "hot");
  auto pinned = instance->KeyFor(hot);
  ASSERT_TRUE(pinned.ok());
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(instance->KeyFor(NewVault(*instance, "cold-" + std::to_string(i))).ok());
    auto still = instance->KeyFor(hot);
    ASSERT_TRUE(still.ok());
    EXPECT_EQ(still->get(), pinned->get()) << "the hot key was evicted at step " << i;
  }
}

}  // namespace
}  // namespace sirr::core

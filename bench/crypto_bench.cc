// Raw primitive rates of the key operations, measured through the same crypto layer the server
// uses (key material already decrypted, no HTTP, no storage, no audit). Compare with
// bench/keys.sh, which drives the same operations over HTTP.
//   build/bench/sirr_crypto_bench --benchmark_min_time=2

#include <benchmark/benchmark.h>

#include "crypto/crypto.h"
#include "crypto/hd/bip32.h"
#include "crypto/key_ops.h"
#include "crypto/secp256k1.h"
#include "crypto/zk/poseidon.h"

namespace {

using sirr::crypto::KeySpec;

void BM_Aes256GcmEncrypt64(benchmark::State& state) {
  auto key = sirr::crypto::GenerateKey(KeySpec::kAes256Gcm, sirr::crypto::SecureRandom::Get());
  sirr::Bytes data(64, 7);
  for (auto _ : state) {
    auto ct = sirr::crypto::AeadEncrypt(KeySpec::kAes256Gcm, key->material, std::nullopt, data, {},
                                        sirr::crypto::SecureRandom::Get());
    benchmark::DoNotOptimize(ct);
  }
  state.SetItemsProcessed(state.iterations());
}

void Sign(benchmark::State& state, KeySpec spec,
          std::optional<sirr::crypto::SignatureAlgorithm> alg) {
  static std::mutex mu;
  sirr::crypto::GeneratedKey key;
  {
    std::lock_guard lock(mu);
    key = std::move(sirr::crypto::GenerateKey(spec, sirr::crypto::SecureRandom::Get())).value();
  }
  sirr::Bytes digest(32, 9);
  // RSA and P-256 keys are signed with as the server does: parsed once (cached while unsealed).
  std::shared_ptr<const sirr::crypto::ParsedPrivateKey> parsed;
  if (sirr::crypto::ParsedPrivateKey::Worthwhile(spec))
    parsed = sirr::crypto::ParsedPrivateKey::Parse(spec, key.material).value();
  for (auto _ : state) {
    auto sig = parsed ? sirr::crypto::Sign(*parsed, digest, alg)
                      : sirr::crypto::Sign(spec, key.material, digest, alg);
    benchmark::DoNotOptimize(sig);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Ed25519Sign(benchmark::State& s) { Sign(s, KeySpec::kEd25519, std::nullopt); }
void BM_Secp256k1Sign(benchmark::State& s) { Sign(s, KeySpec::kSecp256k1, std::nullopt); }
// Baby Jubjub EdDSA-Poseidon: two constant-time fixed-base multiplications (A and R8), two
// BLAKE-512 and one Poseidon of 5 inputs per signature.
void BM_BabyJubJubSign(benchmark::State& s) { Sign(s, KeySpec::kBabyJubJub, std::nullopt); }
void BM_BabyJubJubVerify(benchmark::State& state) {
  auto key = sirr::crypto::GenerateKey(KeySpec::kBabyJubJub, sirr::crypto::SecureRandom::Get());
  sirr::Bytes message(32, 9);
  auto sig = sirr::crypto::Sign(KeySpec::kBabyJubJub, key->material, message, std::nullopt);
  for (auto _ : state) {
    auto ok =
        sirr::crypto::Verify(KeySpec::kBabyJubJub, key->public_key, message, *sig, std::nullopt);
    if (!ok.ok() || !*ok) state.SkipWithError("verification failed");
  }
  state.SetItemsProcessed(state.iterations());
}
void BM_Poseidon5(benchmark::State& state) {
  const sirr::crypto::zk::U256 in[5] = {{1}, {2}, {3}, {4}, {5}};
  for (auto _ : state) benchmark::DoNotOptimize(sirr::crypto::zk::Poseidon(in));
  state.SetItemsProcessed(state.iterations());
}
void BM_Rsa2048Ps256Sign(benchmark::State& s) {
  Sign(s, KeySpec::kRsa2048, sirr::crypto::SignatureAlgorithm::kPs256);
}

// One parsed key shared by all threads, as the server's cache shares it between io threads.
void BM_Rsa2048Ps256SignSharedKey(benchmark::State& state) {
  static const auto parsed = [] {
    auto key = sirr::crypto::GenerateKey(KeySpec::kRsa2048, sirr::crypto::SecureRandom::Get());
    return sirr::crypto::ParsedPrivateKey::Parse(KeySpec::kRsa2048, key->material).value();
  }();
  sirr::Bytes digest(32, 9);
  for (auto _ : state) {
    auto sig = sirr::crypto::Sign(*parsed, digest, sirr::crypto::SignatureAlgorithm::kPs256);
    benchmark::DoNotOptimize(sig);
  }
  state.SetItemsProcessed(state.iterations());
}

// HD wallet: from the cached BIP39 seed, derive m/44'/60'/0'/0/i (five CKDpriv steps, i
// changing every iteration) and sign a digest with the child key. The BIP39 seed itself
// (PBKDF2, 2048 rounds of HMAC-SHA512) is measured separately.
void BM_HdDeriveAndSign(benchmark::State& state) {
  auto seed = sirr::crypto::hd::Bip39Seed(
      "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
      "about",
      "");
  auto root = sirr::crypto::hd::MasterKey(*seed).value();
  using sirr::crypto::hd::kHardened;
  sirr::Bytes digest(32, 9);
  uint32_t i = 0;
  for (auto _ : state) {
    const uint32_t path[] = {44 | kHardened, 60 | kHardened, kHardened, 0, i++ % kHardened};
    auto key = sirr::crypto::hd::DerivePath(root, path).value();
    auto sig = sirr::crypto::secp256k1::Sign(key.private_key, digest);
    benchmark::DoNotOptimize(sig);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Bip39Seed(benchmark::State& state) {
  for (auto _ : state) {
    auto seed = sirr::crypto::hd::Bip39Seed(
        "legal winner thank year wave sausage worth useful legal winner thank yellow", "");
    benchmark::DoNotOptimize(seed);
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(BM_HdDeriveAndSign)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Bip39Seed)->Threads(1)->UseRealTime();
BENCHMARK(BM_Aes256GcmEncrypt64)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Ed25519Sign)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Secp256k1Sign)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Rsa2048Ps256Sign)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Rsa2048Ps256SignSharedKey)->Threads(2)->UseRealTime();
BENCHMARK(BM_BabyJubJubSign)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_BabyJubJubVerify)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Poseidon5)->Threads(1)->UseRealTime();
BENCHMARK_MAIN();

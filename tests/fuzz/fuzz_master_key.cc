// Fuzz target: key-file / unseal-key parsing (base64, hex, BIP39) and the seal command splitter.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/hd/bip39.h"
#include "seal/master_key.h"
#include "seal/providers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto key = sirr::seal::ParseMasterKey(text);
  if (key.ok() && key->size() != 32) __builtin_trap();
  auto entropy = sirr::crypto::hd::MnemonicToEntropy(text);
  if (entropy.ok()) {
    // Round trip: a phrase that parses re-encodes to a phrase with the same entropy.
    auto again = sirr::crypto::hd::EntropyToMnemonic(entropy->reveal());
    if (!again.ok()) __builtin_trap();
    auto back = sirr::crypto::hd::MnemonicToEntropy(again->reveal_string());
    if (!back.ok() || !back->Equals(*entropy)) __builtin_trap();
  }
  (void)sirr::seal::ParseValidationHash(text);
  (void)sirr::seal::SplitCommandLine(text);
  return 0;
}

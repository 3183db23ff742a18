#pragma once

// BIP39/BIP44 HD wallets on top of bip32.h: what the `BIP39` key spec stores and derives.
//
// * Supported coins: Bitcoin (BIP44 coin 0, "BTC") and Ethereum (60, "ETH"); any other coin is
//   refused (InvalidArgument), never silently mapped to another.
// * Paths are BIP44: m/44'/coin'/account'/change/index (purpose, coin and account hardened,
//   change 0 or 1, index below 2^31).
// * Stored material: the canonical mnemonic (lower-case words, single spaces), a 0x00 byte,
//   then the passphrase (UTF-8, may be empty). The mnemonic's checksum is verified on import.
//
// Secret: the material, seeds, private keys (SecretBytes). Public: paths, xpubs, addresses.
// Thread safety: Wallet is immutable after construction; safe to share.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/random.h"
#include "base/secret_bytes.h"
#include "base/status.h"
#include "crypto/hd/bip32.h"

namespace sirr::crypto::hd {

enum class Coin : uint32_t { kBitcoin = 0, kEthereum = 60 };

// 0 / 60, or "BTC" / "ETH" (case-insensitive). InvalidArgument naming the supported coins.
StatusOr<Coin> CoinFromNumber(int64_t number);
StatusOr<Coin> CoinFromAbbreviation(std::string_view abbreviation);
std::string_view CoinAbbreviation(Coin coin);

struct Bip44Path {
  Coin coin = Coin::kEthereum;
  uint32_t account = 0;
  uint32_t change = 0;
  uint32_t index = 0;

  std::vector<uint32_t> Indices() const;
  std::string ToString() const;  // m/44'/60'/0'/0/0
};

// Checks ranges (account and index below 2^31, change 0 or 1).
StatusOr<Bip44Path> MakeBip44Path(Coin coin, int64_t account, int64_t change, int64_t index);
// "m/44'/60'/2'/0/0" → path; InvalidArgument when it is not a BIP44 path of a supported coin.
StatusOr<Bip44Path> ParseBip44Path(std::string_view text);

// Material <-> (mnemonic, passphrase). EncodeMaterial verifies the mnemonic (word list and
// checksum; InvalidArgument "mnemonic: <problem>", never naming a word) and canonicalises it.
StatusOr<SecretBytes> EncodeMaterial(std::string_view mnemonic, std::string_view passphrase);
// A new wallet: a 24-word (256-bit) mnemonic and `passphrase` (InvalidArgument if it holds NUL).
StatusOr<SecretBytes> GenerateMaterial(Random& random, std::string_view passphrase = "");
// The mnemonic part, e.g. to show an ephemeral wallet once.
StatusOr<SecretBytes> MaterialMnemonic(const SecretBytes& material);

struct WalletKey {
  Bip44Path path;
  ExtendedKey key;      // private_key (32 bytes), public_key (33, compressed); xpub on demand
  std::string address;  // Ethereum (EIP-55); empty for Bitcoin
};

class Wallet {
 public:
  // Computes the BIP39 seed (PBKDF2, ~2 ms) and the root key once.
  static StatusOr<Wallet> FromMaterial(const SecretBytes& material);

  // The root extended public key (xpub…), the wallet's public_key.
  std::string RootXpub() const { return SerializePublic(root_); }
  StatusOr<WalletKey> Derive(const Bip44Path& path) const;

 private:
  explicit Wallet(ExtendedKey root) : root_(std::move(root)) {}
  ExtendedKey root_;
};

}  // namespace sirr::crypto::hd

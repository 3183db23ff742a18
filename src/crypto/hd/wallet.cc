#include "crypto/hd/wallet.h"

#include <algorithm>
#include <cctype>

#include "crypto/hd/bip39.h"
#include "crypto/hd/keccak.h"
#include "crypto/secp256k1.h"

namespace sirr::crypto::hd {
namespace {

constexpr std::string_view kSupportedCoins = "supported coins: 0 (BTC) and 60 (ETH)";

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

StatusOr<Coin> CoinFromNumber(int64_t number) {
  if (number == 0) return Coin::kBitcoin;
  if (number == 60) return Coin::kEthereum;
  return InvalidArgumentError("unsupported coin " + std::to_string(number) + "; " +
                              std::string(kSupportedCoins));
}

StatusOr<Coin> CoinFromAbbreviation(std::string_view abbreviation) {
  if (EqualsIgnoreCase(abbreviation, "BTC")) return Coin::kBitcoin;
  if (EqualsIgnoreCase(abbreviation, "ETH")) return Coin::kEthereum;
  return InvalidArgumentError("unsupported coin_abbr; " + std::string(kSupportedCoins));
}

std::string_view CoinAbbreviation(Coin coin) { return coin == Coin::kBitcoin ? "BTC" : "ETH"; }

std::vector<uint32_t> Bip44Path::Indices() const {
  return {44 | kHardened, static_cast<uint32_t>(coin) | kHardened, account | kHardened, change,
          index};
}

std::string Bip44Path::ToString() const { return FormatPath(Indices()); }

StatusOr<Bip44Path> MakeBip44Path(Coin coin, int64_t account, int64_t change, int64_t index) {
  if (account < 0 || account >= kHardened)
    return InvalidArgumentError("account must be between 0 and 2147483647");
  if (change != 0 && change != 1) return InvalidArgumentError("change must be 0 or 1");
  if (index < 0 || index >= kHardened)
    return InvalidArgumentError("index must be between 0 and 2147483647");
  return Bip44Path{coin, static_cast<uint32_t>(account), static_cast<uint32_t>(change),
                   static_cast<uint32_t>(index)};
}

StatusOr<Bip44Path> ParseBip44Path(std::string_view text) {
  SIRR_ASSIGN_OR_RETURN(auto indices, ParsePath(text));
  if (indices.size() != 5 || indices[0] != (44 | kHardened) || !(indices[1] & kHardened) ||
      !(indices[2] & kHardened) || (indices[3] & kHardened) || (indices[4] & kHardened))
    return InvalidArgumentError(
        "hd_derivation_path must be a BIP44 path m/44'/coin'/account'/change/index");
  SIRR_ASSIGN_OR_RETURN(Coin coin, CoinFromNumber(indices[1] & ~kHardened));
  return MakeBip44Path(coin, indices[2] & ~kHardened, indices[3], indices[4]);
}

StatusOr<SecretBytes> EncodeMaterial(std::string_view mnemonic, std::string_view passphrase) {
  auto entropy = MnemonicToEntropy(mnemonic);
  if (!entropy.ok()) return InvalidArgumentError("mnemonic: " + entropy.status().message());
  SIRR_ASSIGN_OR_RETURN(SecretBytes canonical, EntropyToMnemonic(entropy->reveal()));
  if (passphrase.find('\0') != std::string_view::npos)
    return InvalidArgumentError("passphrase must not contain NUL characters");
  SecretBytes material(canonical.size() + 1 + passphrase.size());
  auto out = material.reveal_mut();
  std::copy(canonical.reveal().begin(), canonical.reveal().end(), out.begin());
  out[canonical.size()] = 0;
  std::copy(passphrase.begin(), passphrase.end(), out.begin() + canonical.size() + 1);
  return material;
}

StatusOr<SecretBytes> GenerateMaterial(Random& random, std::string_view passphrase) {
  SecretBytes entropy = random.RandomSecret(32);
  SIRR_ASSIGN_OR_RETURN(SecretBytes mnemonic, EntropyToMnemonic(entropy.reveal()));
  return EncodeMaterial(mnemonic.reveal_string(), passphrase);
}

StatusOr<SecretBytes> MaterialMnemonic(const SecretBytes& material) {
  auto text = material.reveal_string();
  size_t nul = text.find('\0');
  if (nul == std::string_view::npos) return DataLossError("HD wallet material is malformed");
  return SecretBytes::FromString(text.substr(0, nul));
}

StatusOr<Wallet> Wallet::FromMaterial(const SecretBytes& material) {
  auto text = material.reveal_string();
  size_t nul = text.find('\0');
  if (nul == std::string_view::npos) return DataLossError("HD wallet material is malformed");
  SIRR_ASSIGN_OR_RETURN(SecretBytes seed, Bip39Seed(text.substr(0, nul), text.substr(nul + 1)));
  SIRR_ASSIGN_OR_RETURN(ExtendedKey root, MasterKey(seed));
  return Wallet(std::move(root));
}

StatusOr<WalletKey> Wallet::Derive(const Bip44Path& path) const {
  auto indices = path.Indices();
  WalletKey out;
  out.path = path;
  SIRR_ASSIGN_OR_RETURN(out.key, DerivePath(root_, indices));
  if (path.coin == Coin::kEthereum) {
    SIRR_ASSIGN_OR_RETURN(Bytes uncompressed,
                          secp256k1::ConvertPublicKey(out.key.public_key, false));
    SIRR_ASSIGN_OR_RETURN(out.address, EthereumAddress(uncompressed));
  }
  return out;
}

}  // namespace sirr::crypto::hd

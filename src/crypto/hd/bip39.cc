#include "crypto/hd/bip39.h"

#include <array>
#include <string>
#include <vector>

#include "crypto/crypto.h"

namespace sirr::crypto::hd {

extern const std::string_view kBip39EnglishText;

namespace {

constexpr int kWordCount = 2048;

struct Wordlist {
  std::array<std::string_view, kWordCount> words;
  bool valid = false;
};

const Wordlist& Words() {
  static const Wordlist list = [] {
    Wordlist w;
    std::string_view text = kBip39EnglishText;
    int i = 0;
    while (!text.empty() && i < kWordCount) {
      size_t nl = text.find('\n');
      w.words[i++] = text.substr(0, nl);
      text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    }
    w.valid = i == kWordCount && text.empty();
    return w;
  }();
  return list;
}

// Constant-time (in the word's content) search of the whole list. Returns -1 if absent.
int LookupWord(std::string_view word) {
  const Wordlist& list = Words();
  int found = -1;
  uint8_t padded[16] = {};
  const bool too_long = word.size() > sizeof(padded);
  for (size_t i = 0; i < word.size() && i < sizeof(padded); ++i) padded[i] = word[i];
  for (int i = 0; i < kWordCount; ++i) {
    std::string_view candidate = list.words[i];
    uint8_t diff = static_cast<uint8_t>(candidate.size() ^ word.size());
    for (size_t j = 0; j < sizeof(padded); ++j) {
      uint8_t c = j < candidate.size() ? static_cast<uint8_t>(candidate[j]) : 0;
      diff |= c ^ padded[j];
    }
    // mask = -1 when diff == 0, else 0, without a branch.
    int mask = -static_cast<int>((static_cast<unsigned>(diff) - 1u) >> 31);
    found = (found & ~mask) | (i & mask);
  }
  SecureWipe(padded, sizeof(padded));
  return too_long ? -1 : found;
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

std::string_view Bip39EnglishWordlistText() { return kBip39EnglishText; }

std::string_view Bip39Word(int index) { return Words().words.at(index); }

StatusOr<SecretBytes> EntropyToMnemonic(std::span<const uint8_t> entropy) {
  const size_t n = entropy.size();
  if (n < 16 || n > 32 || n % 4 != 0)
    return InvalidArgumentError("BIP39 entropy must be 16, 20, 24, 28 or 32 bytes");
  if (!Words().valid) return InternalError("BIP39 wordlist is corrupt");
  auto digest = Sha256(entropy);
  SecretBytes bits(n + 1);  // entropy || first checksum byte (cs bits <= 8)
  std::copy(entropy.begin(), entropy.end(), bits.reveal_mut().begin());
  bits.reveal_mut()[n] = digest[0];
  const size_t word_count = (n * 8 + n * 8 / 32) / 11;
  SecretBytes out;
  std::string_view sep;
  for (size_t w = 0; w < word_count; ++w) {
    int index = 0;
    for (size_t b = 0; b < 11; ++b) {
      size_t bit = w * 11 + b;
      index = (index << 1) | ((bits.reveal()[bit / 8] >> (7 - bit % 8)) & 1);
    }
    out.Append(AsBytes(sep));
    out.Append(AsBytes(Words().words[index]));
    sep = " ";
  }
  return out;
}

StatusOr<SecretBytes> MnemonicToEntropy(std::string_view mnemonic) {
  if (!Words().valid) return InternalError("BIP39 wordlist is corrupt");
  std::vector<int> indices;
  indices.reserve(24);
  size_t i = 0;
  while (i < mnemonic.size()) {
    while (i < mnemonic.size() && IsSpace(mnemonic[i])) ++i;
    size_t start = i;
    while (i < mnemonic.size() && !IsSpace(mnemonic[i])) ++i;
    if (i > start) {
      if (indices.size() >= 24)
        return InvalidArgumentError("BIP39 mnemonic has more than 24 words");
      int index = LookupWord(mnemonic.substr(start, i - start));
      if (index < 0) {
        SecureWipe(indices.data(), indices.size() * sizeof(int));
        return InvalidArgumentError("BIP39 mnemonic word " + std::to_string(indices.size() + 1) +
                                    " is not in the English wordlist");
      }
      indices.push_back(index);
    }
  }
  const size_t words = indices.size();
  if (words != 12 && words != 15 && words != 18 && words != 21 && words != 24) {
    SecureWipe(indices.data(), indices.size() * sizeof(int));
    return InvalidArgumentError("BIP39 mnemonic must have 12, 15, 18, 21 or 24 words, got " +
                                std::to_string(words));
  }
  const size_t total_bits = words * 11;
  const size_t cs_bits = total_bits / 33;
  const size_t ent_bytes = (total_bits - cs_bits) / 8;
  SecretBytes bits(ent_bytes + 1);
  auto b = bits.reveal_mut();
  for (size_t w = 0; w < words; ++w) {
    for (size_t k = 0; k < 11; ++k) {
      size_t bit = w * 11 + k;
      uint8_t v = static_cast<uint8_t>((indices[w] >> (10 - k)) & 1);
      b[bit / 8] |= static_cast<uint8_t>(v << (7 - bit % 8));
    }
  }
  SecureWipe(indices.data(), indices.size() * sizeof(int));
  SecretBytes entropy(b.first(ent_bytes));
  auto digest = Sha256(entropy.reveal());
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - cs_bits));
  if (((digest[0] ^ b[ent_bytes]) & mask) != 0)
    return InvalidArgumentError("BIP39 mnemonic checksum does not match");
  return entropy;
}

}  // namespace sirr::crypto::hd

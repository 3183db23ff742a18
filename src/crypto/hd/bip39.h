#pragma once

// BIP39 mnemonics (English wordlist only), hand-written per the BIP:
// entropy (128..256 bits, multiple of 32) <-> 12..24 words with a SHA-256 checksum.
//
// Mnemonics and entropy are secret: they live in SecretBytes, and word lookup compares against
// every word of the list in constant time, so timing does not reveal which words were used.
// Errors name the position of a bad word, never the word.
// Thread safety: stateless functions, thread-safe.

#include <span>
#include <string_view>

#include "base/secret_bytes.h"
#include "base/status.h"

namespace sirr::crypto::hd {

// The wordlist file's exact bytes (2048 lines), as shipped in bip39_english.txt.
std::string_view Bip39EnglishWordlistText();
// Word i (0..2047).
std::string_view Bip39Word(int index);

// 16, 20, 24, 28 or 32 bytes of entropy -> the space-separated mnemonic.
StatusOr<SecretBytes> EntropyToMnemonic(std::span<const uint8_t> entropy);

// Mnemonic (words separated by runs of ASCII whitespace) -> entropy, checksum verified.
// InvalidArgument with a message saying what is wrong: word count, unknown word (position),
// or checksum mismatch.
StatusOr<SecretBytes> MnemonicToEntropy(std::string_view mnemonic);

}  // namespace sirr::crypto::hd

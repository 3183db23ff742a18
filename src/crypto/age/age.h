#pragma once

// The age v1 file format (https://age-encryption.org/v1, C2SP), hand-written over libsodium
// (X25519, ChaCha20-Poly1305, scrypt) and OpenSSL (HKDF-SHA-256, HMAC-SHA-256): X25519 and
// scrypt recipient stanzas, the header MAC, the STREAM payload in 64 KiB chunks, and the
// ASCII armor. Used by the CLI for client-side encryption (docs/client-side-encryption.md); the
// server never links it into a request path.
//
// Secrets: identities, passphrases, file keys and plaintext are SecretBytes; a recipient and
// the ciphertext are public. Errors never carry key material or plaintext.
//
// Error classes: every failure is InvalidArgument with a message starting with one of
//   "age: armor: "   the ASCII armor is malformed
//   "age: header: "  the header does not parse (or names stanzas that cannot go together)
//   "age: no identity matched any of the recipients" (or "age: incorrect passphrase")
//   "age: header MAC mismatch"
//   "age: payload: " the STREAM payload is truncated, tampered or has trailing data
// ErrorClassOf() maps a Status back to the class (the C2SP CCTV testkit's `expect` values).
//
// Thread safety: the free functions are thread-safe; an Encryptor is used by one thread.

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/random.h"
#include "base/secret_bytes.h"
#include "base/status.h"

namespace sirr::crypto::age {

inline constexpr size_t kChunkSize = 64 * 1024;
inline constexpr int kDefaultScryptLogN = 18;  // as the age CLI encrypts
inline constexpr int kMaxScryptLogN = 22;      // the most a decryption accepts (as age's CLI)
inline constexpr std::string_view kArmorBegin = "-----BEGIN AGE ENCRYPTED FILE-----";
inline constexpr std::string_view kArmorEnd = "-----END AGE ENCRYPTED FILE-----";

// An X25519 recipient: "age1" + Bech32 of the 32-byte public key.
struct Recipient {
  std::array<uint8_t, 32> public_key{};
};
// An X25519 identity: "AGE-SECRET-KEY-1" + upper-case Bech32 of the 32-byte private key.
struct Identity {
  SecretBytes private_key;
};

StatusOr<Recipient> ParseRecipient(std::string_view text);
std::string FormatRecipient(const Recipient& r);
StatusOr<Identity> ParseIdentity(std::string_view text);
SecretBytes FormatIdentity(const Identity& id);
Identity GenerateIdentity(Random& random);
Recipient ToRecipient(const Identity& id);
// An identity file as age-keygen writes it: one identity per line; blank lines and lines
// starting with '#' are ignored. At least one identity, else an error naming the line.
StatusOr<std::vector<Identity>> ParseIdentityFile(std::string_view text);
// A recipients file (age -R): one age1… recipient per line, '#' comments and blank lines.
StatusOr<std::vector<Recipient>> ParseRecipientsFile(std::string_view text);

// Receives output bytes as they are produced (ciphertext for the Encryptor, plaintext for
// Decrypt: each piece authenticated before it is handed over).
using Sink = std::function<void(std::span<const uint8_t>)>;

// Streaming encryption: the plaintext is given in pieces of any size; at most one chunk of it
// is held at a time. Close() writes the final chunk (and the armor footer).
class Encryptor {
 public:
  static StatusOr<std::unique_ptr<Encryptor>> ForRecipients(const std::vector<Recipient>& to,
                                                            bool armor, Random& random, Sink out);
  // log_n: scrypt work factor (N = 2^log_n), 1..kMaxScryptLogN.
  static StatusOr<std::unique_ptr<Encryptor>> ForPassphrase(const SecretBytes& passphrase,
                                                            int log_n, bool armor, Random& random,
                                                            Sink out);
  ~Encryptor();
  Status Write(std::span<const uint8_t> plaintext);
  Status Close();

  struct State;  // defined in age.cc

 private:
  explicit Encryptor(std::unique_ptr<State> state);
  void EmitChunk(bool last);
  std::unique_ptr<State> s_;
};

// What may open a file: X25519 identities and/or one passphrase.
struct Identities {
  std::vector<Identity> x25519;
  std::optional<SecretBytes> passphrase;
  int max_scrypt_log_n = kMaxScryptLogN;
};

// Decrypts a whole age file, binary or armored (detected by the armor's first line).
Status Decrypt(std::span<const uint8_t> file, const Identities& ids, const Sink& out);
// True when `file` starts (after optional whitespace) with the armor line.
bool IsArmored(std::span<const uint8_t> file);

enum class ErrorClass { kNone, kArmor, kHeader, kNoMatch, kHmac, kPayload, kOther };
ErrorClass ErrorClassOf(const Status& status);

}  // namespace sirr::crypto::age

#pragma once

// SecretBytes owns secret material: keys, plaintext secret values, mnemonics.
//
// * Move-only: a secret is never silently copied. Use Clone() when a copy is really wanted.
// * Wiped on destruction and on move-from (explicit_bzero, which the compiler may not elide).
// * Prints as "[redacted N bytes]" so it cannot reach a log by accident.
// * The bytes are reached only through reveal() / reveal_mut(): grep for them to audit every use.
//
// Thread safety: like a std::vector; no internal synchronisation.

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <span>
#include <string_view>
#include <vector>

namespace sirr {

using Bytes = std::vector<uint8_t>;  // Non-secret binary data (ciphertexts, ids, digests).

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t size);
  SecretBytes(std::span<const uint8_t> data);  // NOLINT: copies and takes ownership of a copy.
  static SecretBytes FromString(std::string_view s);
  ~SecretBytes();

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  SecretBytes Clone() const { return SecretBytes(reveal()); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // The one accessor for the secret bytes. Do not copy them into non-wiping storage.
  std::span<const uint8_t> reveal() const { return {data_, size_}; }
  std::span<uint8_t> reveal_mut() { return {data_, size_}; }
  std::string_view reveal_string() const { return {reinterpret_cast<const char*>(data_), size_}; }

  // Shrinks to `n` bytes (n <= size()), wiping the tail.
  void Truncate(size_t n);
  // Appends bytes. The buffer grows geometrically (so n appends copy O(n) bytes in all); the old
  // buffer is wiped when it is replaced.
  void Append(std::span<const uint8_t> more);
  size_t capacity() const { return capacity_; }

  // Constant-time equality (length is not secret).
  bool Equals(const SecretBytes& other) const;

 private:
  void Release();
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;  // bytes allocated; those past size_ are zero
};

std::ostream& operator<<(std::ostream& os, const SecretBytes& s);

// Wipes memory the compiler may otherwise consider dead.
void SecureWipe(void* p, size_t n);

// Constant-time comparison of two equal-length buffers; false when lengths differ.
bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b);

inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsStringView(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace sirr

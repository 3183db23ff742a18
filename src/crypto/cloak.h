#pragma once

// Cloaking (DESIGN.md §3): key material held in memory only encrypted under a random
// process-wide cloaking key. The cloaking key lives in its own libsodium guarded allocation
// (mlock'ed, MADV_DONTDUMP, guard pages, read-only); the cloaked blobs live in slots of shared
// guarded slabs (mlock'ed, MADV_DONTDUMP; 224 blobs per slab, so many keys cost few mappings),
// wiped when freed. A damaged blob fails its AEAD tag: Decloak aborts. Decloak() gives a
// short-lived plaintext copy that is wiped when it goes out of scope; hold it only for the
// operation that needs it.
//
// HardenProcess() makes the process non-dumpable (PR_SET_DUMPABLE 0, RLIMIT_CORE 0) so neither
// a core file nor a same-user ptrace can read what is decloaked at a given moment.
//
// Thread safety: a CloakedKey is immutable and safe to share; Decloak() is thread-safe.

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/secret_bytes.h"
#include "base/status.h"

namespace sirr::crypto {

// Initialises libsodium and applies the process-wide protections. Idempotent. Returns an error
// when libsodium cannot be initialised; failing to lower RLIMIT_CORE or set the dumpable flag is
// reported in `warning` (the caller logs it) but is not fatal.
Status HardenProcess(std::string* warning);

class CloakedKey {
 public:
  CloakedKey() = default;
  // Cloaks a copy of `plain` (at most kMaxSize bytes).
  static StatusOr<CloakedKey> Cloak(std::span<const uint8_t> plain);
  ~CloakedKey();
  CloakedKey(CloakedKey&& other) noexcept;
  CloakedKey& operator=(CloakedKey&& other) noexcept;
  CloakedKey(const CloakedKey&) = delete;
  CloakedKey& operator=(const CloakedKey&) = delete;

  static constexpr size_t kMaxSize = 256;

  bool empty() const { return blob_ == nullptr; }
  size_t size() const { return size_; }
  // A plaintext copy, wiped when destroyed. Aborts if the blob was damaged in memory (that can
  // only be memory corruption; continuing would use a wrong key).
  SecretBytes Decloak() const;
  // Wipes and frees the blob now.
  void Wipe();

 private:
  uint8_t* blob_ = nullptr;  // nonce | ciphertext | tag, in a guarded allocation
  size_t size_ = 0;          // plaintext size
};

}  // namespace sirr::crypto

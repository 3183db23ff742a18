#include "crypto/cloak.h"

#include <sodium.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

namespace sirr::crypto {
namespace {

constexpr size_t kNonce = crypto_aead_chacha20poly1305_IETF_NPUBBYTES;
constexpr size_t kTag = crypto_aead_chacha20poly1305_IETF_ABYTES;
constexpr size_t kKey = crypto_aead_chacha20poly1305_IETF_KEYBYTES;
constexpr char kAad[] = "sirr/v1/cloak";

// The process-wide cloaking key: random, created once, read-only guarded memory.
const uint8_t* CloakingKey() {
  static const uint8_t* key = [] {
    if (sodium_init() < 0) std::abort();
    auto* k = static_cast<uint8_t*>(sodium_malloc(kKey));
    if (k == nullptr) std::abort();
    crypto_aead_chacha20poly1305_ietf_keygen(k);
    sodium_mprotect_readonly(k);
    return k;
  }();
  return key;
}

// Cloaked blobs (nonce | ciphertext | tag, at most 284 bytes) live in slots of locked,
// non-dumpable slabs: one guarded allocation (a few mappings) per 224 keys instead of one per
// key, so that many cached keys cannot exhaust the process's memory mappings
// (vm.max_map_count). Freed slots are wiped and reused; slabs are kept for the process's life
// (their number is bounded by the most keys ever cloaked at once). Never destroyed: cloaked keys
// may be released during static destruction.
class BlobSlab {
 public:
  static constexpr size_t kSlot = 288;
  static constexpr size_t kSlotsPerSlab = 224;  // 64,512 bytes

  uint8_t* Take() {
    std::lock_guard lock(mu_);
    if (free_.empty()) {
      auto* slab = static_cast<uint8_t*>(sodium_malloc(kSlot * kSlotsPerSlab));
      if (slab == nullptr) return nullptr;
      for (size_t i = kSlotsPerSlab; i-- > 0;) free_.push_back(slab + i * kSlot);
    }
    uint8_t* slot = free_.back();
    free_.pop_back();
    return slot;
  }
  void Give(uint8_t* slot) {
    sodium_memzero(slot, kSlot);
    std::lock_guard lock(mu_);
    free_.push_back(slot);
  }

 private:
  std::mutex mu_;
  std::vector<uint8_t*> free_;  // guarded by mu_
};
static_assert(BlobSlab::kSlot >= kNonce + CloakedKey::kMaxSize + kTag);

BlobSlab& Slab() {
  static BlobSlab* slab = new BlobSlab;
  return *slab;
}

}  // namespace

Status HardenProcess(std::string* warning) {
  if (sodium_init() < 0) return InternalError("libsodium cannot be initialised");
  (void)CloakingKey();
  std::string problems;
  struct rlimit none {
    0, 0
  };
  if (setrlimit(RLIMIT_CORE, &none) != 0) problems += "cannot set RLIMIT_CORE to 0; ";
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) problems += "cannot clear PR_SET_DUMPABLE; ";
  if (!problems.empty() && warning != nullptr) {
    problems.resize(problems.size() - 2);
    *warning = problems;
  }
  return OkStatus();
}

StatusOr<CloakedKey> CloakedKey::Cloak(std::span<const uint8_t> plain) {
  if (plain.empty() || plain.size() > kMaxSize)
    return InvalidArgumentError("cloaked key size must be 1.." + std::to_string(kMaxSize));
  const uint8_t* key = CloakingKey();
  uint8_t* blob = Slab().Take();
  if (blob == nullptr) return ResourceExhaustedError("cannot allocate locked memory for a key");
  randombytes_buf(blob, kNonce);
  unsigned long long out_len = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(blob + kNonce, &out_len, plain.data(), plain.size(),
                                            reinterpret_cast<const uint8_t*>(kAad),
                                            sizeof(kAad) - 1, nullptr, blob, key);
  CloakedKey out;
  out.blob_ = blob;
  out.size_ = plain.size();
  return out;
}

SecretBytes CloakedKey::Decloak() const {
  if (blob_ == nullptr) return SecretBytes();
  SecretBytes plain(size_);
  unsigned long long len = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(
          plain.reveal_mut().data(), &len, nullptr, blob_ + kNonce, size_ + kTag,
          reinterpret_cast<const uint8_t*>(kAad), sizeof(kAad) - 1, blob_, CloakingKey()) != 0)
    std::abort();
  return plain;
}

void CloakedKey::Wipe() {
  if (blob_ != nullptr) Slab().Give(blob_);  // wiped, then reused
  blob_ = nullptr;
  size_ = 0;
}

CloakedKey::~CloakedKey() { Wipe(); }

CloakedKey::CloakedKey(CloakedKey&& other) noexcept : blob_(other.blob_), size_(other.size_) {
  other.blob_ = nullptr;
  other.size_ = 0;
}

CloakedKey& CloakedKey::operator=(CloakedKey&& other) noexcept {
  if (this != &other) {
    Wipe();
    blob_ = other.blob_;
    size_ = other.size_;
    other.blob_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

}  // namespace sirr::crypto

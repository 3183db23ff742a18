#pragma once

// One-time share links (docs/client-side-encryption.md "Share links"). The CLI encrypts a value
// with a fresh key K that lives only in the link's fragment; the server stores the ciphertext
// as a read-limited, expiring secret in a vault of its own (owner "system:shares", invisible
// to every principal) together with SHA-256 of the proof HKDF(K, "sirr-share-v1 proof").
// A reveal counts a read only when it presents that proof, so someone who knows just the id
// (from a log or a proxy) can neither read nor burn the share.
//
// What is secret: nothing here ever sees K or the plaintext. The ciphertext is additionally
// sealed at rest under the share vault's key, like every secret.
//
// Thread safety: thread-safe.

#include <mutex>
#include <optional>
#include <string>

#include "audit/audit_log.h"
#include "base/clock.h"
#include "base/random.h"
#include "core/principal.h"
#include "core/seal_keeper.h"
#include "core/vaults.h"
#include "storage/storage.h"

namespace sirr::core {

inline constexpr std::string_view kShareContentType = "application/vnd.sirr.share.v1";
inline constexpr int64_t kMaxShareTtlSeconds = 30LL * 24 * 3600;  // 30 days
inline constexpr int64_t kDefaultShareTtlSeconds = 24 * 3600;
inline constexpr int64_t kMaxShareReads = 100;

struct ShareRequest {
  Bytes ciphertext;  // as the client made it (opaque here)
  Bytes proof_hash;  // SHA-256 of the proof: 32 bytes
  int64_t ttl_seconds = kDefaultShareTtlSeconds;
  int64_t max_reads = 1;
};

class Shares {
 public:
  Shares(storage::Storage& storage, SealKeeper& keeper, Vaults& vaults, audit::AuditLog& audit,
         const Clock& clock, Random& random, size_t max_ciphertext_bytes)
      : storage_(storage),
        keeper_(keeper),
        vaults_(vaults),
        audit_(audit),
        clock_(clock),
        random_(random),
        max_ciphertext_bytes_(max_ciphertext_bytes) {}

  // The shares:create check alone (audited when refused): before a request body is read.
  Status Authorize(const RequestContext& ctx) {
    return vaults_.Authorize(ctx, "share.create", Capability::kSharesCreate);
  }
  // Needs shares:create. Returns the share's metadata (its id names the link).
  StatusOr<storage::SecretRow> Create(const RequestContext& ctx, ShareRequest request);
  // The share's metadata when it can still be revealed (no read counted, nothing audited).
  // NotFound for an unknown, used or expired share.
  StatusOr<storage::SecretRow> Check(std::string_view id);
  // Counts one read when SHA-256(proof) matches, and returns the ciphertext. An unknown, used
  // or expired share, or a wrong proof, is NotFound with one message (nothing consumed).
  // Every attempt is audited (share.reveal), never with the proof.
  StatusOr<Bytes> Reveal(const RequestContext& ctx, std::string_view id,
                         std::span<const uint8_t> proof);

  static constexpr std::string_view kGoneMessage = "this link is no longer available";

 private:
  // The share vault, created on first use.
  StatusOr<storage::VaultRow> ShareVault(Instance& instance);
  Status AuditReveal(const RequestContext& ctx, const storage::VaultRow& vault, std::string_view id,
                     std::string_view outcome, std::string detail);

  storage::Storage& storage_;
  SealKeeper& keeper_;
  Vaults& vaults_;
  audit::AuditLog& audit_;
  const Clock& clock_;
  Random& random_;
  const size_t max_ciphertext_bytes_;
  std::mutex mu_;
  std::optional<storage::VaultRow> vault_;  // guarded by mu_
};

}  // namespace sirr::core

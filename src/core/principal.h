#pragma once

// Principals and capabilities: who is making a request and what it may do.
//
// A principal is the admin token (every capability, every vault), an API token (its
// capabilities, on the vaults in its scope) or a JWT subject (the vault-scoped capabilities,
// on the vaults its application / organisation / user owns). Vault names are resolved in the
// principal's namespace (`owner`): "" for the admin and API tokens, "application:<uuid>",
// "organization:<uuid>" or "user:<uuid>" for JWT principals. Ids reach any vault in scope.
//
// Plain values; no secrets (a principal never holds the token it was authenticated by).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "storage/storage.h"

namespace sirr::core {

enum class Capability : uint32_t {
  kSecretsRead = 1u << 0,
  kSecretsWrite = 1u << 1,
  kSecretsDelete = 1u << 2,
  kSecretsList = 1u << 3,
  kKeysCreate = 1u << 4,
  kKeysRead = 1u << 5,
  kKeysUse = 1u << 6,
  kKeysDelete = 1u << 7,
  kVaultsCreate = 1u << 8,
  kVaultsDelete = 1u << 9,
  kTokensManage = 1u << 10,
  kAdmin = 1u << 11,
  kMetricsRead = 1u << 12,   // GET /metrics on the main listener
  kSharesCreate = 1u << 13,  // POST /api/v1/shares (one-time share links)
};

// The owner of the vaults sirrd keeps for itself ("system:shares"): no principal sees them.
inline constexpr std::string_view kSystemOwnerPrefix = "system:";

using CapabilitySet = uint32_t;

inline constexpr CapabilitySet Bit(Capability c) { return static_cast<CapabilitySet>(c); }
inline constexpr CapabilitySet kAllCapabilities = (1u << 14) - 1;
// What a JWT principal may do on its own vaults.
inline constexpr CapabilitySet kVaultScopedCapabilities =
    Bit(Capability::kSecretsRead) | Bit(Capability::kSecretsWrite) |
    Bit(Capability::kSecretsDelete) | Bit(Capability::kSecretsList) | Bit(Capability::kKeysCreate) |
    Bit(Capability::kKeysRead) | Bit(Capability::kKeysUse) | Bit(Capability::kKeysDelete) |
    Bit(Capability::kVaultsCreate) | Bit(Capability::kVaultsDelete);

// "secrets:read" ...; every capability, in declaration order.
const std::vector<std::pair<Capability, std::string_view>>& CapabilityNames();
std::string_view CapabilityName(Capability c);
// InvalidArgument naming the unknown capability.
StatusOr<CapabilitySet> ParseCapabilities(const std::vector<std::string>& names);
std::vector<std::string> CapabilityList(CapabilitySet set);
// The stored spelling: names separated by single spaces.
std::string JoinCapabilities(CapabilitySet set);
std::vector<std::string> SplitCapabilities(std::string_view space_separated);

enum class PrincipalKind { kAdmin, kToken, kJwt, kSystem };

struct Principal {
  PrincipalKind kind = PrincipalKind::kSystem;
  // For audit records and messages: "admin", "token:<id>", the JWT subject, "sweeper".
  std::string id;
  std::string token_id;  // API tokens
  std::string name;      // API token name
  CapabilitySet capabilities = 0;
  // Scope. Admin: everything. API tokens: instance vaults when all_vaults ("*"), plus the
  // listed ids. JWT: vaults whose owner is `owner`.
  bool all_vaults = false;
  std::vector<std::string> vault_ids;  // sorted
  std::string owner;
  // API tokens: when the token expires, and how many uses it has left (after this one);
  // tokens it creates never exceed either.
  std::optional<int64_t> expires_at;
  std::optional<int64_t> uses_left;

  bool Has(Capability c) const {
    return (capabilities & Bit(Capability::kAdmin)) != 0 || (capabilities & Bit(c)) != 0;
  }
  bool is_admin() const { return Has(Capability::kAdmin); }
  // Whether the vault is within this principal's scope.
  bool CanSee(const storage::VaultRow& vault) const;
  // The storage filter for the vaults this principal may list.
  storage::VaultScope Scope() const;

  static Principal Admin();
  static Principal System(std::string id);
};

// PermissionDenied "<who> lacks the <capability> capability" when missing.
Status Require(const Principal& p, Capability c);

struct RequestContext {
  std::string request_id;
  Principal principal;
  std::string client;
};

}  // namespace sirr::core

#include "core/principal.h"

#include <algorithm>

namespace sirr::core {

const std::vector<std::pair<Capability, std::string_view>>& CapabilityNames() {
  static const std::vector<std::pair<Capability, std::string_view>> kNames = {
      {Capability::kSecretsRead, "secrets:read"},
      {Capability::kSecretsWrite, "secrets:write"},
      {Capability::kSecretsDelete, "secrets:delete"},
      {Capability::kSecretsList, "secrets:list"},
      {Capability::kKeysCreate, "keys:create"},
      {Capability::kKeysRead, "keys:read"},
      {Capability::kKeysUse, "keys:use"},
      {Capability::kKeysDelete, "keys:delete"},
      {Capability::kVaultsCreate, "vaults:create"},
      {Capability::kVaultsDelete, "vaults:delete"},
      {Capability::kTokensManage, "tokens:manage"},
      {Capability::kAdmin, "admin"},
      {Capability::kMetricsRead, "metrics:read"},
      {Capability::kSharesCreate, "shares:create"},
  };
  return kNames;
}

std::string_view CapabilityName(Capability c) {
  for (const auto& [cap, name] : CapabilityNames())
    if (cap == c) return name;
  return "?";
}

StatusOr<CapabilitySet> ParseCapabilities(const std::vector<std::string>& names) {
  CapabilitySet set = 0;
  for (const auto& n : names) {
    bool known = false;
    for (const auto& [cap, name] : CapabilityNames()) {
      if (n == name) {
        set |= Bit(cap);
        known = true;
      }
    }
    if (!known) {
      std::string all;
      for (const auto& [cap, name] : CapabilityNames())
        all += (all.empty() ? "" : ", ") + std::string(name);
      return InvalidArgumentError("unknown capability '" + n.substr(0, 64) + "' (known: " + all +
                                  ")");
    }
  }
  return set;
}

std::vector<std::string> CapabilityList(CapabilitySet set) {
  std::vector<std::string> out;
  for (const auto& [cap, name] : CapabilityNames())
    if (set & Bit(cap)) out.emplace_back(name);
  return out;
}

std::string JoinCapabilities(CapabilitySet set) {
  std::string out;
  for (const auto& name : CapabilityList(set)) out += (out.empty() ? "" : " ") + name;
  return out;
}

std::vector<std::string> SplitCapabilities(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(' ', i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

bool Principal::CanSee(const storage::VaultRow& vault) const {
  // sirrd's own vaults (share links) are reached only through their own service.
  if (vault.owner.starts_with(kSystemOwnerPrefix)) return false;
  switch (kind) {
    case PrincipalKind::kAdmin:
    case PrincipalKind::kSystem:
      return true;
    case PrincipalKind::kToken:
      if (is_admin()) return true;
      if (all_vaults && vault.owner.empty()) return true;
      return std::binary_search(vault_ids.begin(), vault_ids.end(), vault.id);
    case PrincipalKind::kJwt:
      return !owner.empty() && vault.owner == owner;
  }
  return false;
}

storage::VaultScope Principal::Scope() const {
  storage::VaultScope scope;
  switch (kind) {
    case PrincipalKind::kAdmin:
    case PrincipalKind::kSystem:
      scope.everything = true;
      break;
    case PrincipalKind::kToken:
      scope.everything = is_admin();
      if (all_vaults) scope.owner = "";
      scope.ids = vault_ids;
      break;
    case PrincipalKind::kJwt:
      scope.owner = owner;
      break;
  }
  return scope;
}

Principal Principal::Admin() {
  Principal p;
  p.kind = PrincipalKind::kAdmin;
  p.id = "admin";
  p.capabilities = kAllCapabilities;
  p.all_vaults = true;
  return p;
}

Principal Principal::System(std::string id) {
  Principal p;
  p.kind = PrincipalKind::kSystem;
  p.id = std::move(id);
  p.capabilities = kAllCapabilities;
  p.all_vaults = true;
  return p;
}

Status Require(const Principal& p, Capability c) {
  if (p.Has(c)) return OkStatus();
  return PermissionDeniedError(p.id + " lacks the " + std::string(CapabilityName(c)) +
                               " capability");
}

}  // namespace sirr::core

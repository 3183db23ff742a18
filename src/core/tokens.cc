#include "core/tokens.h"

#include <algorithm>

#include "base/encoding.h"
#include "core/audited.h"
#include "core/secrets.h"
#include "core/text.h"
#include "crypto/crypto.h"

namespace sirr::core {
namespace {

Bytes HashOf(std::string_view token) {
  auto h = crypto::Sha256(AsBytes(token));
  return Bytes(h.begin(), h.end());
}

// Whether a token lies within what `p` may manage: every token for a principal over all
// instance vaults; otherwise only tokens limited to vaults `p` itself holds (so a tokens:manage
// token scoped to one vault neither sees nor touches tokens of other vaults).
bool WithinScope(const Principal& p, const storage::TokenRow& t) {
  if (p.is_admin() || p.all_vaults) return true;
  if (t.all_vaults) return false;
  return std::includes(p.vault_ids.begin(), p.vault_ids.end(), t.vault_ids.begin(),
                       t.vault_ids.end());
}

}  // namespace

Status Tokens::Authorize(const RequestContext& ctx, std::string_view action) {
  Status st = Require(ctx.principal, Capability::kTokensManage);
  if (st.ok()) return st;
  audit::Event e = NewEvent(ctx, action, "denied");
  e.detail = "missing tokens:manage";
  SIRR_RETURN_IF_ERROR(audit_.Append(e));
  return st;
}

StatusOr<CreatedToken> Tokens::Create(const RequestContext& ctx, CreateTokenRequest req) {
  SIRR_RETURN_IF_ERROR(Authorize(ctx, "token.create"));
  const Principal& creator = ctx.principal;
  if (req.name.empty() || req.name.size() > 128)
    return InvalidArgumentError("name is required (1 to 128 characters)");
  SIRR_RETURN_IF_ERROR(RejectControlCharacters("name", req.name));
  if (req.capabilities.empty())
    return InvalidArgumentError("capabilities must list at least one capability");
  SIRR_ASSIGN_OR_RETURN(CapabilitySet caps, ParseCapabilities(req.capabilities));
  if (!creator.is_admin()) {
    CapabilitySet beyond = caps & ~creator.capabilities;
    if (beyond != 0)
      return PermissionDeniedError("cannot grant capabilities the creating principal lacks: " +
                                   JoinCapabilities(beyond));
  }
  if (req.ttl_seconds && (*req.ttl_seconds < 1 || *req.ttl_seconds > kMaxTtlSeconds))
    return InvalidArgumentError("ttl_seconds must be between 1 and " +
                                std::to_string(kMaxTtlSeconds));
  if (req.max_uses && *req.max_uses < 1) return InvalidArgumentError("max_uses must be at least 1");
  if (req.vaults.size() > 1000) return InvalidArgumentError("at most 1000 vaults per token");

  storage::TokenRow row;
  for (const auto& ref : req.vaults) {
    if (ref == "*") {
      if (!creator.is_admin() && !creator.all_vaults)
        return PermissionDeniedError(
            "cannot grant \"*\": the creating principal is limited to "
            "named vaults");
      row.all_vaults = true;
      continue;
    }
    auto vault = storage_.GetVault(ref, creator.owner);
    if (!vault.ok() || vault->wrapped_key.empty() || !creator.CanSee(*vault)) {
      if (!vault.ok() && vault.status().code() != StatusCode::kNotFound) return vault.status();
      return InvalidArgumentError("vault '" + ref.substr(0, 128) + "' not found");
    }
    row.vault_ids.push_back(vault->id);
  }
  std::sort(row.vault_ids.begin(), row.vault_ids.end());
  row.vault_ids.erase(std::unique(row.vault_ids.begin(), row.vault_ids.end()), row.vault_ids.end());

  SecretBytes raw = random_.RandomSecret(32);
  std::string encoded = Base64Encode(raw.reveal(), Base64Alphabet::kUrlSafe);
  SecretBytes value = SecretBytes::FromString(kTokenPrefix);
  value.Append(AsBytes(encoded));
  SecureWipe(encoded.data(), encoded.size());

  const int64_t now = clock_.NowMillis();
  row.id = random_.Uuid();
  row.name = std::move(req.name);
  row.hash = HashOf(value.reveal_string());
  row.capabilities = JoinCapabilities(caps);
  row.created_at = now;
  row.created_by = creator.id;
  if (req.ttl_seconds) row.expires_at = now + *req.ttl_seconds * 1000;
  row.max_uses = req.max_uses;
  // A token's children never outlive or outlast it: without a ttl or max_uses they inherit the
  // creator's; beyond them they are refused.
  if (creator.expires_at) {
    if (!row.expires_at) row.expires_at = creator.expires_at;
    if (*row.expires_at > *creator.expires_at)
      return PermissionDeniedError(
          "cannot create a token that outlives the creating token (it "
          "expires at " +
          FormatRfc3339(*creator.expires_at) + ")");
  }
  if (creator.uses_left) {
    if (!row.max_uses) row.max_uses = std::max<int64_t>(*creator.uses_left, 1);
    if (*row.max_uses > *creator.uses_left)
      return PermissionDeniedError(
          "cannot create a token with more uses than the creating token "
          "has left (" +
          std::to_string(*creator.uses_left) + ")");
  }
  audit::Event e = NewEvent(ctx, "token.create", "success");
  e.detail = "token:" + row.id + " (" + row.capabilities + ")";
  Status st = storage_.CreateToken(row, JournalOf(e, clock_));
  if (!st.ok() && st.code() != StatusCode::kUnavailable) {
    e.outcome = std::string(OutcomeOf(st));
    SIRR_RETURN_IF_ERROR(audit_.Append(e));
  }
  SIRR_RETURN_IF_ERROR(st);
  row.hash.clear();
  return CreatedToken{std::move(row), std::move(value)};
}

StatusOr<std::vector<storage::TokenRow>> Tokens::List(const RequestContext& ctx) {
  SIRR_RETURN_IF_ERROR(Authorize(ctx, "token.list"));
  SIRR_ASSIGN_OR_RETURN(auto rows, storage_.ListTokens());
  std::erase_if(rows, [&](const storage::TokenRow& t) { return !WithinScope(ctx.principal, t); });
  for (auto& r : rows) r.hash.clear();
  audit::Event e = NewEvent(ctx, "token.list", "success");
  e.detail = std::to_string(rows.size()) + " token(s)";
  SIRR_RETURN_IF_ERROR(audit_.Append(e));
  return rows;
}

StatusOr<storage::TokenRow> Tokens::Get(const RequestContext& ctx, std::string_view id) {
  SIRR_RETURN_IF_ERROR(Authorize(ctx, "token.read"));
  auto row = storage_.GetToken(id);
  if (row.ok() && !WithinScope(ctx.principal, *row)) row = NotFoundError("token not found");
  audit::Event e = NewEvent(ctx, "token.read", OutcomeOf(row.status()));
  e.detail = "token:" + std::string(id.substr(0, 64));
  SIRR_RETURN_IF_ERROR(audit_.Append(e));
  if (!row.ok()) return row.status();
  row->hash.clear();
  return row;
}

Status Tokens::Revoke(const RequestContext& ctx, std::string_view id) {
  SIRR_RETURN_IF_ERROR(Authorize(ctx, "token.revoke"));
  audit::Event e = NewEvent(ctx, "token.revoke", "success");
  e.detail = "token:" + std::string(id.substr(0, 64)) + " and the tokens it created";
  if (auto row = storage_.GetToken(id); !row.ok() || !WithinScope(ctx.principal, *row)) {
    Status missing = row.ok() || row.status().code() == StatusCode::kNotFound
                         ? NotFoundError("token not found")
                         : row.status();
    e.outcome = std::string(OutcomeOf(missing));
    SIRR_RETURN_IF_ERROR(audit_.Append(e));
    return missing;
  }
  Status st = storage_.RevokeToken(id, clock_.NowMillis(), JournalOf(e, clock_));
  if (!st.ok() && st.code() != StatusCode::kUnavailable) {
    e.outcome = std::string(OutcomeOf(st));
    SIRR_RETURN_IF_ERROR(audit_.Append(e));
  }
  return st;
}

StatusOr<Principal> Tokens::Authenticate(std::string_view presented, std::string* token_id) {
  if (!presented.starts_with(kTokenPrefix) || presented.size() > 256)
    return UnauthenticatedError("invalid token");
  return AuthenticateDigest(HashOf(presented), token_id);
}

StatusOr<Principal> Tokens::AuthenticateDigest(std::span<const uint8_t> digest,
                                               std::string* token_id) {
  auto row = storage_.FindTokenByHash(Bytes(digest.begin(), digest.end()));
  if (!row.ok()) {
    if (row.status().code() == StatusCode::kNotFound) return UnauthenticatedError("invalid token");
    return row.status();
  }
  if (token_id) *token_id = row->id;
  if (row->revoked_at) return UnauthenticatedError("token has been revoked");
  if (row->expires_at && *row->expires_at <= clock_.NowMillis())
    return UnauthenticatedError("token has expired");
  std::optional<int64_t> uses_left;
  if (row->max_uses) {
    SIRR_ASSIGN_OR_RETURN(bool counted, storage_.ConsumeTokenUse(row->id));
    if (!counted) return UnauthenticatedError("token has been used up");
    uses_left = *row->max_uses - row->uses - 1;
  }
  auto caps = ParseCapabilities(SplitCapabilities(row->capabilities));
  if (!caps.ok()) return DataLossError("token " + row->id + " has unreadable capabilities");
  Principal p;
  p.kind = PrincipalKind::kToken;
  p.id = "token:" + row->id;
  p.token_id = row->id;
  p.name = row->name;
  p.capabilities = *caps;
  p.all_vaults = row->all_vaults;
  p.vault_ids = std::move(row->vault_ids);  // sorted by storage
  p.expires_at = row->expires_at;
  p.uses_left = uses_left;
  return p;
}

}  // namespace sirr::core

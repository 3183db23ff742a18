#include "api/jwt.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "api/json_input.h"
#include "base/encoding.h"

namespace sirr::api {
namespace {

using nlohmann::json;

constexpr size_t kMaxJwtBytes = 16 * 1024;

Status Denied(std::string reason) { return UnauthenticatedError("invalid JWT: " + reason); }

StatusOr<Bytes> DecodePart(std::string_view part) {
  if (part.empty() || part.find('=') != std::string_view::npos)
    return MalformedError("bad base64url");
  return Base64Decode(part, Base64Alphabet::kUrlSafe);
}

StatusOr<json> DecodeJsonPart(std::string_view part, const char* what) {
  auto bytes = DecodePart(part);
  if (!bytes.ok()) return Denied(std::string(what) + " is not base64url");
  auto j = ParseJsonObject(
      std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()));
  if (!j.ok()) return Denied(std::string(what) + " is not a JSON object");
  return j;
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

// A NumericDate claim (RFC 7519: seconds, possibly fractional). Absent: nullopt.
StatusOr<std::optional<double>> TimeClaim(const json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::optional<double>();
  if (!it->is_number() || !std::isfinite(it->get<double>()))
    return Denied(std::string(name) + " must be a number");
  return std::optional<double>(it->get<double>());
}

StatusOr<std::string> StringClaim(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return std::string();
  if (!it->is_string()) return Denied(std::string(name) + " must be a string");
  return it->get<std::string>();
}

}  // namespace

bool LooksLikeJwt(std::string_view c) {
  size_t first = c.find('.');
  if (first == std::string_view::npos) return false;
  size_t second = c.find('.', first + 1);
  return second != std::string_view::npos && c.find('.', second + 1) == std::string_view::npos;
}

StatusOr<std::unique_ptr<JwtVerifier>> JwtVerifier::FromFile(const std::string& path,
                                                             JwtOptions options,
                                                             const Clock& clock) {
  std::ifstream in(path);
  if (!in) return NotFoundError("JWT public key file " + path + " cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().size() > (1 << 20))
    return InvalidArgumentError("JWT public key file " + path + " is larger than 1 MiB");
  auto keys = crypto::PublicKey::ParsePem(text.str());
  if (!keys.ok())
    return InvalidArgumentError("JWT public key file " + path + ": " + keys.status().message());
  return std::make_unique<JwtVerifier>(std::move(keys).value(), std::move(options), clock);
}

StatusOr<core::Principal> JwtVerifier::Verify(std::string_view token) const {
  if (token.size() > kMaxJwtBytes) return Denied("token too large");
  const size_t d1 = token.find('.');
  const size_t d2 = token.find('.', d1 + 1);
  if (d1 == std::string_view::npos || d2 == std::string_view::npos ||
      token.find('.', d2 + 1) != std::string_view::npos)
    return Denied("not a compact JWS (header.payload.signature)");
  SIRR_ASSIGN_OR_RETURN(json header, DecodeJsonPart(token.substr(0, d1), "header"));

  // 1. Algorithm and key selection, before anything in the payload is believed.
  SIRR_ASSIGN_OR_RETURN(std::string alg_name, StringClaim(header, "alg"));
  if (alg_name.empty()) return Denied("header has no alg");
  std::string lower = alg_name;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "none") return Denied("alg none is not accepted");
  if (lower.starts_with("hs"))
    return Denied("HMAC algorithms (" + alg_name.substr(0, 16) + ") are not accepted");
  auto alg = crypto::SignatureAlgorithmFromJws(alg_name);
  if (!alg.ok()) return Denied("unsupported alg " + alg_name.substr(0, 16));
  if (header.contains("crit")) return Denied("crit headers are not supported");
  SIRR_ASSIGN_OR_RETURN(std::string kid, StringClaim(header, "kid"));
  std::vector<const crypto::PublicKey*> candidates;
  bool kid_known = false;
  for (const auto& key : keys_) {
    const bool named = !kid.empty() && (kid == key->label() || kid == key->ssh_md5_fingerprint());
    kid_known = kid_known || named;
    if (key->type() == crypto::KeyTypeFor(*alg) && (kid.empty() || named))
      candidates.push_back(key.get());
  }
  if (!kid.empty() && !kid_known) return Denied("unknown kid");
  if (candidates.empty()) return Denied("no configured key can verify " + alg_name);

  auto signature = DecodePart(token.substr(d2 + 1));
  if (!signature.ok()) return Denied("signature is not base64url");
  const auto signed_part = AsBytes(token.substr(0, d2));
  bool valid = false;
  for (const crypto::PublicKey* key : candidates) {
    auto ok = key->Verify(*alg, signed_part, *signature);
    if (ok.ok() && *ok) {
      valid = true;
      break;
    }
  }
  if (!valid) return Denied("bad signature");
  return CheckClaims(token.substr(d1 + 1, d2 - d1 - 1));
}

StatusOr<core::Principal> JwtVerifier::CheckClaims(std::string_view payload) const {
  // 2. Claims.
  SIRR_ASSIGN_OR_RETURN(json claims, DecodeJsonPart(payload, "payload"));
  const double now = static_cast<double>(clock_.NowMillis()) / 1000.0;
  const double leeway = static_cast<double>(options_.leeway_seconds);
  SIRR_ASSIGN_OR_RETURN(auto exp, TimeClaim(claims, "exp"));
  SIRR_ASSIGN_OR_RETURN(auto nbf, TimeClaim(claims, "nbf"));
  SIRR_ASSIGN_OR_RETURN(auto iat, TimeClaim(claims, "iat"));
  if (!exp && options_.require_exp) return Denied("no exp claim");
  if (exp && now >= *exp + leeway) return Denied("token has expired");
  if (nbf && now + leeway < *nbf) return Denied("token is not valid yet (nbf)");
  if (iat && now + leeway < *iat) return Denied("token was issued in the future (iat)");
  if (!options_.issuer.empty()) {
    SIRR_ASSIGN_OR_RETURN(std::string iss, StringClaim(claims, "iss"));
    if (iss != options_.issuer) return Denied("wrong issuer");
  }
  if (!options_.audience.empty()) {
    bool match = false;
    auto it = claims.find("aud");
    if (it != claims.end() && it->is_string()) match = *it == options_.audience;
    if (it != claims.end() && it->is_array())
      for (const auto& a : *it) match = match || (a.is_string() && a == options_.audience);
    if (!match) return Denied("wrong audience");
  }

  // 3. Identity.
  SIRR_ASSIGN_OR_RETURN(std::string sub, StringClaim(claims, "sub"));
  std::string application, organization, user;
  const size_t colon = sub.find(':');
  const std::string kind = colon == std::string::npos ? "" : sub.substr(0, colon);
  const std::string sub_id = colon == std::string::npos ? "" : sub.substr(colon + 1);
  if (!IsUuid(sub_id) || (kind != "user" && kind != "application" && kind != "organization"))
    return Denied("sub must be user:<uuid>, application:<uuid> or organization:<uuid>");
  (kind == "user" ? user : kind == "application" ? application : organization) = sub_id;
  auto prvd = claims.find("prvd");
  if (prvd != claims.end() && !prvd->is_null()) {
    if (!prvd->is_object()) return Denied("prvd must be an object");
    for (auto [field, slot] : {std::pair<const char*, std::string*>{"application_id", &application},
                               {"organization_id", &organization},
                               {"user_id", &user}}) {
      SIRR_ASSIGN_OR_RETURN(std::string v, StringClaim(*prvd, field));
      if (v.empty()) continue;
      if (!IsUuid(v)) return Denied(std::string("prvd.") + field + " must be a UUID");
      if (!slot->empty() && *slot != v)
        return Denied(std::string("prvd.") + field + " contradicts sub");
      *slot = v;
    }
  }
  core::Principal p;
  p.kind = core::PrincipalKind::kJwt;
  p.id = sub;
  p.capabilities = core::kVaultScopedCapabilities;
  p.owner = !application.empty()    ? "application:" + application
            : !organization.empty() ? "organization:" + organization
                                    : "user:" + user;
  for (char& c : p.owner) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return p;
}

}  // namespace sirr::api

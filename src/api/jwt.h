#pragma once

// JWT bearer authentication (RFC 7519 / JWS compact form), compatible with Provide's identity
// tokens. Accepted algorithms: RS256, RS384, RS512, ES256, EdDSA, against the public keys in
// SIRR_JWT_PUBLIC_KEY_FILE. Refused: "none", every HMAC algorithm (so a public key can never
// be used as an HMAC secret), unknown algorithms, "crit" headers, unknown "kid"s, bad
// signatures, expired / not-yet-valid / future-issued tokens (with a small leeway), and a
// wrong issuer or audience when those are configured.
//
// A "kid" names a key by its label ("# kid: NAME" before its PEM block) or by its OpenSSH MD5
// fingerprint (what Provide's ident uses). Without a "kid", every key of the algorithm's type
// is tried.
//
// The subject is "user:<uuid>", "application:<uuid>" or "organization:<uuid>"; the "prvd" claim
// may carry application_id / organization_id / user_id. The principal's namespace (the owner of
// the vaults it creates and the only vaults it sees) is its application, else organisation,
// else user.
//
// Thread safety: Verify() is thread-safe (the verifier is immutable).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "core/principal.h"
#include "crypto/public_key.h"

namespace sirr::api {

struct JwtOptions {
  std::string issuer;    // empty: not checked
  std::string audience;  // empty: not checked
  int64_t leeway_seconds = 60;
  bool require_exp = true;
};

class JwtVerifier {
 public:
  JwtVerifier(std::vector<std::unique_ptr<crypto::PublicKey>> keys, JwtOptions options,
              const Clock& clock)
      : keys_(std::move(keys)), options_(std::move(options)), clock_(clock) {}

  // Reads the PEM file (one or more public keys). Errors name the file, never its content.
  static StatusOr<std::unique_ptr<JwtVerifier>> FromFile(const std::string& path,
                                                         JwtOptions options, const Clock& clock);

  // The principal, or Unauthenticated with a short reason.
  StatusOr<core::Principal> Verify(std::string_view token) const;

  // The claims checks and identity mapping alone, for a base64url payload whose signature has
  // already been verified (Verify calls it; exposed for the fuzz target).
  StatusOr<core::Principal> CheckClaims(std::string_view payload) const;

  const std::vector<std::unique_ptr<crypto::PublicKey>>& keys() const { return keys_; }

 private:
  const std::vector<std::unique_ptr<crypto::PublicKey>> keys_;
  const JwtOptions options_;
  const Clock& clock_;
};

// Whether a bearer credential has the shape of a JWS compact token (three dot-separated parts).
bool LooksLikeJwt(std::string_view credential);

}  // namespace sirr::api

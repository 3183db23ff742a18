// Share links (docs/api.md "Share links", docs/client-side-encryption.md): POST /api/v1/shares,
// the reveal page GET /s/{id} with its assets, and POST /api/v1/shares/{id}/reveal.

#include <nlohmann/json.hpp>

#include "api/api.h"
#include "api/api_internal.h"
#include "api/json_input.h"
#include "base/encoding.h"

namespace sirr::api {
namespace share_page {
extern const std::string_view k_html;
extern const std::string_view k_css;
extern const std::string_view k_js;
}  // namespace share_page

namespace {

using internal::Dump;
using internal::NullableInt;
using internal::NullableTime;
using nlohmann::json;

// The page and its assets: same-origin script and style only, no framing, no referrer, not
// indexed, never cached (a used link must not come back from a cache).
void SecurePageHeaders(Response& r) {
  r.SetHeader("Content-Security-Policy",
              "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
              "img-src 'self' data: blob:; base-uri 'none'; form-action 'none'; "
              "frame-ancestors 'none'");
  r.SetHeader("Referrer-Policy", "no-referrer");
  r.SetHeader("X-Robots-Tag", "noindex, nofollow, noarchive");
  r.SetHeader("X-Content-Type-Options", "nosniff");
  r.SetHeader("X-Frame-Options", "DENY");
  r.SetHeader("Cache-Control", "no-store");
}

std::string Fill(std::string_view html, std::string_view state, std::string_view reads) {
  std::string out(html);
  auto replace = [&](std::string_view key, std::string_view value) {
    for (size_t at = out.find(key); at != std::string::npos; at = out.find(key, at + value.size()))
      out.replace(at, key.size(), value);
  };
  replace("{{STATE}}", state);
  replace("{{READS}}", reads);
  return out;
}

}  // namespace

StatusOr<Response> Api::ShareCreate(const Call& call) {
  if (!shares_) return NotFoundError("no such route");
  SIRR_RETURN_IF_ERROR(shares_->Authorize(*call.ctx));
  SIRR_ASSIGN_OR_RETURN(json j, ParseJsonObject(call.req.body));
  core::ShareRequest req;
  auto ttl = OptionalInt(j, "ttl_seconds");
  auto reads = OptionalInt(j, "max_reads");
  SIRR_RETURN_IF_ERROR(ttl.status());
  SIRR_RETURN_IF_ERROR(reads.status());
  SIRR_ASSIGN_OR_RETURN(std::string ciphertext, internal::RequiredString(j, "ciphertext"));
  auto decoded = Base64Decode(ciphertext);
  if (!decoded.ok()) return InvalidArgumentError("ciphertext must be base64");
  req.ciphertext = std::move(*decoded);
  SIRR_ASSIGN_OR_RETURN(req.proof_hash, internal::RequiredHex(j, "proof_hash"));
  if (*ttl) req.ttl_seconds = **ttl;
  if (*reads) req.max_reads = **reads;
  const int64_t ttl_seconds = req.ttl_seconds;
  SIRR_ASSIGN_OR_RETURN(auto row, shares_->Create(*call.ctx, std::move(req)));
  json out{{"id", row.id},
           {"path", "/s/" + row.id},
           {"expires_at", NullableTime(row.expires_at)},
           {"ttl_seconds", ttl_seconds},
           {"max_reads", NullableInt(row.max_reads)}};
  if (!public_url_.empty()) out["url"] = public_url_ + "/s/" + row.id;
  return JsonResponse(201, Dump(out));
}

StatusOr<Response> Api::SharePage(const Call& call) {
  if (!shares_) return NotFoundError("no such route");
  Response r;
  r.SetHeader("Content-Type", "text/html; charset=utf-8");
  SecurePageHeaders(r);
  if (auto wait = share_limiter_.Take(call.req.client)) {
    r.status = 429;
    r.SetHeader("Retry-After", std::to_string(*wait));
    r.body = Fill(share_page::k_html, "wait", "once");
    return r;
  }
  auto meta = shares_->Check(call.ref);
  if (meta.ok()) {
    const int64_t left = meta->reads_remaining.value_or(1);
    r.status = 200;
    r.body =
        Fill(share_page::k_html, "live", left == 1 ? "once" : std::to_string(left) + " more times");
  } else if (meta.status().code() == StatusCode::kNotFound) {
    r.status = 404;
    r.body = Fill(share_page::k_html, "gone", "once");
  } else {
    // Sealed, or the database failed: nothing was consumed; say so on a page, not in JSON.
    r.status = HttpStatusFor(meta.status().code());
    if (r.status == 503) r.SetHeader("Retry-After", "30");
    r.body = Fill(share_page::k_html, "wait", "once");
  }
  return r;
}

StatusOr<Response> Api::ShareAsset(const Call& call) {
  if (!shares_) return NotFoundError("no such route");
  Response r;
  if (call.ref == "share.js") {
    r.SetHeader("Content-Type", "text/javascript; charset=utf-8");
    r.body = std::string(share_page::k_js);
  } else if (call.ref == "share.css") {
    r.SetHeader("Content-Type", "text/css; charset=utf-8");
    r.body = std::string(share_page::k_css);
  } else {
    return NotFoundError("no such asset");
  }
  SecurePageHeaders(r);
  return r;
}

StatusOr<Response> Api::ShareReveal(const Call& call) {
  if (!shares_) return NotFoundError("no such route");
  if (auto wait = share_limiter_.Take(call.req.client)) {
    metrics_.rate_limited.Inc();
    Response r = ErrorResponse(ResourceExhaustedError(
        "too many reveal attempts from this address; retry after " + std::to_string(*wait) + " s"));
    r.SetHeader("Retry-After", std::to_string(*wait));
    return r;
  }
  SIRR_ASSIGN_OR_RETURN(json j, ParseJsonObject(call.req.body));
  SIRR_ASSIGN_OR_RETURN(std::string proof_text, internal::RequiredString(j, "proof"));
  auto proof = Base64Decode(proof_text, Base64Alphabet::kUrlSafe);
  if (!proof.ok() || proof->size() != 32)
    return InvalidArgumentError("proof must be 32 bytes, base64url-encoded");
  core::RequestContext ctx{call.req.request_id, core::Principal::System("anonymous"),
                           call.req.client};
  SIRR_ASSIGN_OR_RETURN(Bytes ciphertext, shares_->Reveal(ctx, call.ref, *proof));
  Response r = JsonResponse(200, Dump(json{{"ciphertext", Base64Encode(ciphertext)}}));
  r.SetHeader("Cache-Control", "no-store");
  r.SetHeader("Referrer-Policy", "no-referrer");
  return r;
}

}  // namespace sirr::api

// Key routes of the API (docs/api.md "Keys"): /api/v1/vaults/{vault}/keys[/{key}[/{op}]] and
// the detached POST /api/v1/verify. Hex fields accept an optional 0x prefix; data and aad are
// text unless `encoding` is "base64".

#include <nlohmann/json.hpp>

#include "api/api.h"
#include "api/api_internal.h"
#include "api/json_input.h"
#include "base/encoding.h"

namespace sirr::api {
namespace {

using internal::DecodeHexField;
using internal::Dump;
using internal::Encoding;
using internal::EncodingOf;
using internal::RequiredHex;
using internal::RequiredString;
using internal::SecretField;
using nlohmann::json;

json KeyJson(const storage::KeyRow& k) {
  json j{{"id", k.id},
         {"created_at", FormatRfc3339(k.created_at)},
         {"vault_id", k.vault_id},
         {"type", k.type},
         {"usage", k.usage},
         {"spec", k.spec},
         {"name", k.name},
         {"description", k.description}};
  if (!k.public_key.empty()) {
    auto spec = crypto::ParseKeySpec(k.spec);
    auto parts = spec.ok() ? crypto::DescribePublicKey(*spec, k.public_key)
                           : StatusOr<crypto::PublicParts>(spec.status());
    if (parts.ok()) {
      j["public_key"] = parts->public_key;
      if (!parts->address.empty()) j["address"] = parts->address;
      if (!parts->fingerprint.empty()) j["fingerprint"] = parts->fingerprint;
    }
  }
  return j;
}

// options.algorithm, when given.
StatusOr<std::optional<crypto::SignatureAlgorithm>> AlgorithmOf(const json& j) {
  SIRR_ASSIGN_OR_RETURN(const json* options, OptionalObject(j, "options"));
  if (!options) return std::optional<crypto::SignatureAlgorithm>();
  SIRR_ASSIGN_OR_RETURN(auto name, OptionalString(*options, "algorithm"));
  if (!name) return std::optional<crypto::SignatureAlgorithm>();
  SIRR_ASSIGN_OR_RETURN(auto alg, crypto::ParseRsaAlgorithm(*name));
  return std::optional<crypto::SignatureAlgorithm>(alg);
}

// options.hdwallet (BIP39 keys), when given.
StatusOr<std::optional<core::HdOptions>> HdOptionsOf(const json& j) {
  SIRR_ASSIGN_OR_RETURN(const json* options, OptionalObject(j, "options"));
  if (!options) return std::optional<core::HdOptions>();
  SIRR_ASSIGN_OR_RETURN(const json* hd, OptionalObject(*options, "hdwallet"));
  if (!hd) return std::optional<core::HdOptions>();
  core::HdOptions o;
  SIRR_ASSIGN_OR_RETURN(o.path, OptionalString(*hd, "hd_derivation_path"));
  SIRR_ASSIGN_OR_RETURN(o.coin, OptionalInt(*hd, "coin"));
  SIRR_ASSIGN_OR_RETURN(o.coin_abbr, OptionalString(*hd, "coin_abbr"));
  SIRR_ASSIGN_OR_RETURN(o.account, OptionalInt(*hd, "account"));
  SIRR_ASSIGN_OR_RETURN(o.change, OptionalInt(*hd, "change"));
  SIRR_ASSIGN_OR_RETURN(o.index, OptionalInt(*hd, "index"));
  return std::optional<core::HdOptions>(std::move(o));
}

// The BIP39 members of a sign/verify/derive response.
void AddHd(json& j, const core::HdResult& hd) {
  j["hd_derivation_path"] = hd.path;
  if (!hd.address.empty()) j["address"] = hd.address;
  j["public_key"] = hd.public_key;
}

}  // namespace

StatusOr<Response> Api::KeyCreate(const Call& call) {
  SIRR_ASSIGN_OR_RETURN(json j, ParseJsonObject(call.req.body));
  auto mnemonic = SecretField(j, "mnemonic", Encoding::kText);
  auto passphrase = SecretField(j, "passphrase", Encoding::kText);
  auto name = OptionalString(j, "name");
  auto spec = OptionalString(j, "spec");
  auto type = OptionalString(j, "type");
  auto usage = OptionalString(j, "usage");
  auto description = OptionalString(j, "description");
  auto ephemeral = OptionalBool(j, "ephemeral");
  for (const Status& st : {mnemonic.status(), passphrase.status(), name.status(), spec.status(),
                           type.status(), usage.status(), description.status(), ephemeral.status()})
    SIRR_RETURN_IF_ERROR(st);
  if (!*name) return InvalidArgumentError("name is required");
  if (!*spec) return InvalidArgumentError("spec is required");
  core::CreateKeyRequest r;
  r.name = std::move(**name);
  r.spec = std::move(**spec);
  r.type = type->value_or("");
  r.usage = usage->value_or("");
  r.description = description->value_or("");
  r.ephemeral = ephemeral->value_or(false);
  r.mnemonic = std::move(*mnemonic);
  if (*passphrase) r.passphrase = std::move(**passphrase);
  SIRR_ASSIGN_OR_RETURN(auto created, keys_.Create(*call.ctx, call.vault, std::move(r)));
  json out = KeyJson(created.row);
  if (created.private_value.empty()) return JsonResponse(201, Dump(out));
  out["ephemeral"] = true;
  out[created.private_field] = std::string(created.private_value.reveal_string());
  Response resp = JsonResponse(201, Dump(out));
  WipeStringMember(out, created.private_field.c_str());
  resp.SetHeader("Cache-Control", "no-store");
  return resp;
}

StatusOr<Response> Api::KeyList(const Call& call) {
  storage::KeyFilter filter;
  if (std::string_view spec = call.target.Query("spec"); !spec.empty()) {
    SIRR_ASSIGN_OR_RETURN(auto parsed, crypto::ParseKeySpec(spec));
    filter.spec = std::string(crypto::SpecName(parsed));
  }
  if (std::string_view type = call.target.Query("type"); !type.empty()) {
    SIRR_ASSIGN_OR_RETURN(auto parsed, crypto::ParseKeyType(type));
    filter.type = std::string(crypto::TypeName(parsed));
  }
  SIRR_ASSIGN_OR_RETURN(auto window, internal::PageWindowOf(call.target));
  filter.offset = window.offset;
  filter.limit = window.limit;
  SIRR_ASSIGN_OR_RETURN(auto page, keys_.List(*call.ctx, call.vault, filter));
  return internal::ListResponse(page.rows, page.total, KeyJson);
}

StatusOr<Response> Api::KeyGet(const Call& call) {
  SIRR_ASSIGN_OR_RETURN(auto row, keys_.Get(*call.ctx, call.vault, call.ref));
  return JsonResponse(200, Dump(KeyJson(row)));
}

StatusOr<Response> Api::KeyDelete(const Call& call) {
  SIRR_RETURN_IF_ERROR(keys_.Delete(*call.ctx, call.vault, call.ref).status());
  return internal::NoContent();
}

StatusOr<Response> Api::KeyEncrypt(const Call& call) {
  SIRR_ASSIGN_OR_RETURN(json j, ParseJsonObject(call.req.body));
  auto encoding = EncodingOf(j);
  if (!encoding.ok()) {
    WipeStringMember(j, "data");
    WipeStringMember(j, "aad");
    return encoding.status();
  }
  auto data = SecretField(j, "data", *encoding);
  auto aad = SecretField(j, "aad", *encoding);
  auto nonce_text = OptionalString(j, "nonce");
  for (const Status& st : {data.status(), aad.status(), nonce_text.status()})
    SIRR_RETURN_IF_ERROR(st);
  if (!*data) return InvalidArgumentError("data is required");
  std::optional<Bytes> nonce;
  if (*nonce_text) {
    SIRR_ASSIGN_OR_RETURN(Bytes n, DecodeHexField(**nonce_text, "nonce"));
    nonce = std::move(n);
  }
  Bytes aad_bytes;
  if (*aad) aad_bytes.assign((*aad)->reveal().begin(), (*aad)->reveal().end());
  SIRR_ASSIGN_OR_RETURN(
      auto ct, keys_.Encrypt(*call.ctx, call.vault, call.ref, **data, std::move(nonce), aad_bytes));
  return JsonResponse(200, Dump(json{{"data", HexEncode(ct)}}));
}

StatusOr<Response> Api::KeyDecrypt(const Call& call) {
  SIRR_ASSIGN_OR_RETURN(json j, ParseJsonObject(call.req.body));
  SIRR_ASSIGN_OR_RETURN(Encoding encoding, EncodingOf(j));
  SIRR_ASSIGN_OR_RETURN(Bytes data, RequiredHex(j, "data"));
  SIRR_ASSIGN_OR_RETURN(auto aad, SecretField(j, "aad", encoding));
  Bytes aad_bytes;
  if (aad) aad_bytes.assign(aad->reveal().begin(), aad->reveal().end());
  SIRR_ASSIGN_OR_RETURN(auto pt, keys_.Decrypt(*call.ctx, call.vault, call.ref, data, aad_bytes));
  json out = json::object();
  internal::PutSecretValue(out, "data", pt, encoding == Encoding::kText);
  Response resp = JsonResponse(200, Dump(out));
  WipeStringMember(out, "data");
  resp.SetHeader("Cache-Control", "no-store");
  return resp;
}

StatusOr<Response> Api::KeySign(const Call& call) {
  SIRR_ASSIGN_OR_RETURN(json j, ParseJsonObject(call.req.body));
  SIRR_ASSIGN_OR_RETURN(Bytes message, RequiredHex(j, "message"));
  SIRR_ASSIGN_OR_RETURN(auto alg, AlgorithmOf(j));
  SIRR_ASSIGN_OR_RETURN(auto hd, HdOptionsOf(j));
  core::HdResult used;
  SIRR_ASSIGN_OR_RETURN(auto sig, keys_.Sign(*call.ctx, call.vault, call.ref, message, alg,
                                             hd ? &*hd : nullptr, &used));
  json out{{"signature", HexEncode(sig)}};
  if (!used.path.empty()) AddHd(out, used);
  return JsonResponse(201, Dump(out));
}

StatusOr<Response> Api::KeyVerify(const Call& call) {
  SIRR_ASSIGN_OR_RETURN(json j, ParseJsonObject(call.req.body));
  SIRR_ASSIGN_OR_RETURN(Bytes message, RequiredHex(j, "message"));
  SIRR_ASSIGN_OR_RETURN(auto alg, AlgorithmOf(j));
  SIRR_ASSIGN_OR_RETURN(auto hd, HdOptionsOf(j));
  SIRR_ASSIGN_OR_RETURN(Bytes signature, RequiredHex(j, "signature"));
  core::HdResult used;
  SIRR_ASSIGN_OR_RETURN(bool verified, keys_.Verify(*call.ctx, call.vault, call.ref, message,
                                                    signature, alg, hd ? &*hd : nullptr, &used));
  json out{{"verified", verified}};
  if (!used.path.empty()) AddHd(out, used);
  return JsonResponse(200, Dump(out));
}

StatusOr<Response> Api::KeyDerive(const Call& call) {
  SIRR_ASSIGN_OR_RETURN(json j, ParseJsonObject(call.req.body));
  auto name = OptionalString(j, "name");
  auto description = OptionalString(j, "description");
  auto context = OptionalString(j, "context");
  auto public_key = OptionalString(j, "public_key");
  auto spec = OptionalString(j, "spec");
  auto hd_path = OptionalString(j, "hd_derivation_path");
  for (const Status& st : {name.status(), description.status(), context.status(),
                           public_key.status(), spec.status(), hd_path.status()})
    SIRR_RETURN_IF_ERROR(st);
  core::DeriveRequest d;
  d.name = name->value_or("");  // required for keys that store a derived key (checked in core)
  d.hd.path = std::move(*hd_path);
  d.description = description->value_or("");
  d.context = std::move(*context);
  d.spec = spec->value_or("");
  if (*public_key) {
    SIRR_ASSIGN_OR_RETURN(d.peer_public_key, DecodeHexField(**public_key, "public_key"));
  }
  core::HdResult hd;
  SIRR_ASSIGN_OR_RETURN(auto row, keys_.Derive(*call.ctx, call.vault, call.ref, std::move(d), &hd));
  if (!hd.path.empty()) {
    json out{{"key_id", row.id}, {"xpub", hd.xpub}};
    AddHd(out, hd);
    return JsonResponse(201, Dump(out));
  }
  return JsonResponse(201, Dump(KeyJson(row)));
}

StatusOr<Response> Api::VerifyDetached(const Call& call) {
  SIRR_ASSIGN_OR_RETURN(json j, ParseJsonObject(call.req.body));
  SIRR_ASSIGN_OR_RETURN(std::string spec_name, RequiredString(j, "spec"));
  SIRR_ASSIGN_OR_RETURN(auto spec, crypto::ParseKeySpec(spec_name));
  SIRR_ASSIGN_OR_RETURN(Bytes message, RequiredHex(j, "message"));
  SIRR_ASSIGN_OR_RETURN(Bytes signature, RequiredHex(j, "signature"));
  SIRR_ASSIGN_OR_RETURN(std::string public_key_text, RequiredString(j, "public_key"));
  // An empty field is a malformed request, not a signature that fails to verify.
  for (auto [field, empty] :
       {std::pair{"message", message.empty()}, std::pair{"signature", signature.empty()},
        std::pair{"public_key", public_key_text.empty()}})
    if (empty) return InvalidArgumentError(std::string(field) + " must not be empty");
  SIRR_ASSIGN_OR_RETURN(auto public_key, crypto::ParsePublicKey(spec, public_key_text));
  SIRR_ASSIGN_OR_RETURN(auto alg, AlgorithmOf(j));
  SIRR_ASSIGN_OR_RETURN(bool verified,
                        keys_.VerifyDetached(*call.ctx, spec, public_key, message, signature, alg));
  return JsonResponse(200, Dump(json{{"verified", verified}}));
}

}  // namespace sirr::api

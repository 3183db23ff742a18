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

// How data/aad strings are read and plaintext written: text (UTF-8) or base64.
enum class Encoding { kText, kBase64 };

StatusOr<Encoding> EncodingOf(const json& j) {
  SIRR_ASSIGN_OR_RETURN(auto encoding, OptionalString(j, "encoding"));
  if (!encoding || *encoding == "text" || *encoding == "utf-8") return Encoding::kText;
  if (*encoding == "base64") return Encoding::kBase64;
  return InvalidArgumentError("encoding must be \"base64\" or \"text\"");
}

// A secret string member decoded per `encoding`; the JSON copy is wiped.
StatusOr<std::optional<SecretBytes>> SecretField(json& j, const char* field, Encoding encoding) {
  auto value = OptionalString(j, field);
  if (!value.ok() || !*value) {
    WipeStringMember(j, field);
    if (!value.ok()) return value.status();
    return std::optional<SecretBytes>();
  }
  std::string& text = **value;
  StatusOr<SecretBytes> out = SecretBytes();
  if (encoding == Encoding::kBase64) {
    out = Base64DecodeSecret(text);
    if (!out.ok()) out = InvalidArgumentError(std::string(field) + " is not valid base64");
  } else {
    out = SecretBytes::FromString(text);
  }
  WipeStringMember(j, field);
  SecureWipe(text.data(), text.size());
  if (!out.ok()) return out.status();
  return std::optional<SecretBytes>(std::move(out).value());
}

StatusOr<Bytes> RequiredHex(const json& j, const char* field) {
  SIRR_ASSIGN_OR_RETURN(auto text, OptionalString(j, field));
  if (!text) return InvalidArgumentError(std::string(field) + " is required");
  return DecodeHexField(*text, field);
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

bool IsOperation(std::string_view s) {
  return s == "encrypt" || s == "decrypt" || s == "sign" || s == "verify" || s == "derive";
}

#define SIRR_RESPOND_IF_ERROR(expr)           \
  do {                                        \
    ::sirr::Status _st = (expr);              \
    if (!_st.ok()) return ErrorResponse(_st); \
  } while (0)

}  // namespace

Response Api::HandleKeys(const Request& req, const ParsedTarget& target,
                         const core::RequestContext& ctx, std::string_view vault,
                         std::string_view rest) {
  // rest: "", "{key}" or "{key}/{op}" (raw, still percent-encoded).
  std::string_view raw_key = rest, op;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    raw_key = rest.substr(0, slash);
    op = rest.substr(slash + 1);
    if (!IsOperation(op)) return ErrorResponse(NotFoundError("no such route"));
  }
  auto decoded = PercentDecode(raw_key, false);
  if (!decoded.ok()) return ErrorResponse(decoded.status());
  const std::string& key = *decoded;

  if (key.empty()) {
    if (req.method == "POST") {
      auto parsed = ParseJsonObject(req.body);
      if (!parsed.ok()) return ErrorResponse(parsed.status());
      core::CreateKeyRequest r;
      auto name = OptionalString(*parsed, "name");
      auto spec = OptionalString(*parsed, "spec");
      auto type = OptionalString(*parsed, "type");
      auto usage = OptionalString(*parsed, "usage");
      auto description = OptionalString(*parsed, "description");
      auto ephemeral = OptionalBool(*parsed, "ephemeral");
      for (const Status& st : {name.status(), spec.status(), type.status(), usage.status(),
                               description.status(), ephemeral.status()})
        SIRR_RESPOND_IF_ERROR(st);
      if (!*name) return ErrorResponse(InvalidArgumentError("name is required"));
      if (!*spec) return ErrorResponse(InvalidArgumentError("spec is required"));
      r.name = std::move(**name);
      r.spec = std::move(**spec);
      r.type = type->value_or("");
      r.usage = usage->value_or("");
      r.description = description->value_or("");
      r.ephemeral = ephemeral->value_or(false);
      auto mnemonic = SecretField(*parsed, "mnemonic", Encoding::kText);
      auto passphrase = SecretField(*parsed, "passphrase", Encoding::kText);
      for (const Status& st : {mnemonic.status(), passphrase.status()}) SIRR_RESPOND_IF_ERROR(st);
      r.mnemonic = std::move(*mnemonic);
      if (*passphrase) r.passphrase = std::move(**passphrase);
      auto created = keys_.Create(ctx, vault, std::move(r));
      if (!created.ok()) return ErrorResponse(created.status());
      json j = KeyJson(created->row);
      if (created->private_value.empty()) return JsonResponse(201, Dump(j));
      j["ephemeral"] = true;
      j[created->private_field] = std::string(created->private_value.reveal_string());
      Response resp = JsonResponse(201, Dump(j));
      WipeStringMember(j, created->private_field.c_str());
      resp.SetHeader("Cache-Control", "no-store");
      return resp;
    }
    if (req.method == "GET") {
      storage::KeyFilter filter;
      if (std::string_view spec = target.Query("spec"); !spec.empty()) {
        auto parsed = crypto::ParseKeySpec(spec);
        if (!parsed.ok()) return ErrorResponse(parsed.status());
        filter.spec = std::string(crypto::SpecName(*parsed));
      }
      if (std::string_view type = target.Query("type"); !type.empty()) {
        auto parsed = crypto::ParseKeyType(type);
        if (!parsed.ok()) return ErrorResponse(parsed.status());
        filter.type = std::string(crypto::TypeName(*parsed));
      }
      auto window = internal::PageWindowOf(target);
      if (!window.ok()) return ErrorResponse(window.status());
      filter.offset = window->offset;
      filter.limit = window->limit;
      auto page = keys_.List(ctx, vault, filter);
      if (!page.ok()) return ErrorResponse(page.status());
      return internal::ListResponse(page->rows, page->total, KeyJson);
    }
    return MethodNotAllowed("GET, POST");
  }

  if (op.empty()) {
    if (req.method == "GET") {
      auto row = keys_.Get(ctx, vault, key);
      if (!row.ok()) return ErrorResponse(row.status());
      return JsonResponse(200, Dump(KeyJson(*row)));
    }
    if (req.method == "DELETE") {
      auto row = keys_.Delete(ctx, vault, key);
      if (!row.ok()) return ErrorResponse(row.status());
      return internal::NoContent();
    }
    return MethodNotAllowed("GET, DELETE");
  }

  if (req.method != "POST") return MethodNotAllowed("POST");
  auto parsed = ParseJsonObject(req.body);
  if (!parsed.ok()) return ErrorResponse(parsed.status());
  json& j = *parsed;

  if (op == "encrypt") {
    auto encoding = EncodingOf(j);
    if (!encoding.ok()) {
      WipeStringMember(j, "data");
      return ErrorResponse(encoding.status());
    }
    auto data = SecretField(j, "data", *encoding);
    auto aad = SecretField(j, "aad", *encoding);
    auto nonce_text = OptionalString(j, "nonce");
    for (const Status& st : {data.status(), aad.status(), nonce_text.status()})
      SIRR_RESPOND_IF_ERROR(st);
    if (!*data) return ErrorResponse(InvalidArgumentError("data is required"));
    std::optional<Bytes> nonce;
    if (*nonce_text) {
      auto n = DecodeHexField(**nonce_text, "nonce");
      if (!n.ok()) return ErrorResponse(n.status());
      nonce = std::move(n).value();
    }
    Bytes aad_bytes;
    if (*aad) aad_bytes.assign((*aad)->reveal().begin(), (*aad)->reveal().end());
    auto ct = keys_.Encrypt(ctx, vault, key, **data, std::move(nonce), aad_bytes);
    if (!ct.ok()) return ErrorResponse(ct.status());
    return JsonResponse(200, Dump(json{{"data", HexEncode(*ct)}}));
  }
  if (op == "decrypt") {
    auto encoding = EncodingOf(j);
    if (!encoding.ok()) return ErrorResponse(encoding.status());
    auto data = RequiredHex(j, "data");
    if (!data.ok()) return ErrorResponse(data.status());
    auto aad = SecretField(j, "aad", *encoding);
    if (!aad.ok()) return ErrorResponse(aad.status());
    Bytes aad_bytes;
    if (*aad) aad_bytes.assign((*aad)->reveal().begin(), (*aad)->reveal().end());
    auto pt = keys_.Decrypt(ctx, vault, key, *data, aad_bytes);
    if (!pt.ok()) return ErrorResponse(pt.status());
    json out = json::object();
    if (*encoding == Encoding::kText && internal::IsValidUtf8(pt->reveal_string())) {
      out["data"] = std::string(pt->reveal_string());
    } else {
      out["data"] = Base64Encode(pt->reveal());
      out["encoding"] = "base64";
    }
    Response resp = JsonResponse(200, Dump(out));
    WipeStringMember(out, "data");
    resp.SetHeader("Cache-Control", "no-store");
    return resp;
  }
  if (op == "sign" || op == "verify") {
    auto message = RequiredHex(j, "message");
    if (!message.ok()) return ErrorResponse(message.status());
    auto alg = AlgorithmOf(j);
    if (!alg.ok()) return ErrorResponse(alg.status());
    auto hd = HdOptionsOf(j);
    if (!hd.ok()) return ErrorResponse(hd.status());
    const core::HdOptions* hd_options = *hd ? &**hd : nullptr;
    core::HdResult used;
    if (op == "sign") {
      auto sig = keys_.Sign(ctx, vault, key, *message, *alg, hd_options, &used);
      if (!sig.ok()) return ErrorResponse(sig.status());
      json out{{"signature", HexEncode(*sig)}};
      if (!used.path.empty()) AddHd(out, used);
      return JsonResponse(201, Dump(out));
    }
    auto signature = RequiredHex(j, "signature");
    if (!signature.ok()) return ErrorResponse(signature.status());
    auto verified = keys_.Verify(ctx, vault, key, *message, *signature, *alg, hd_options, &used);
    if (!verified.ok()) return ErrorResponse(verified.status());
    json out{{"verified", *verified}};
    if (!used.path.empty()) AddHd(out, used);
    return JsonResponse(200, Dump(out));
  }
  // derive
  core::DeriveRequest d;
  auto name = OptionalString(j, "name");
  auto description = OptionalString(j, "description");
  auto context = OptionalString(j, "context");
  auto public_key = OptionalString(j, "public_key");
  auto spec = OptionalString(j, "spec");
  auto hd_path = OptionalString(j, "hd_derivation_path");
  for (const Status& st : {name.status(), description.status(), context.status(),
                           public_key.status(), spec.status(), hd_path.status()})
    SIRR_RESPOND_IF_ERROR(st);
  d.name = name->value_or("");  // required for keys that store a derived key (checked in core)
  d.hd.path = std::move(*hd_path);
  d.description = description->value_or("");
  d.context = std::move(*context);
  d.spec = spec->value_or("");
  if (*public_key) {
    auto peer = DecodeHexField(**public_key, "public_key");
    if (!peer.ok()) return ErrorResponse(peer.status());
    d.peer_public_key = std::move(peer).value();
  }
  core::HdResult hd;
  auto row = keys_.Derive(ctx, vault, key, std::move(d), &hd);
  if (!row.ok()) return ErrorResponse(row.status());
  if (!hd.path.empty()) {
    json out{{"key_id", row->id}, {"xpub", hd.xpub}};
    AddHd(out, hd);
    return JsonResponse(201, Dump(out));
  }
  return JsonResponse(201, Dump(KeyJson(*row)));
}

Response Api::HandleVerifyDetached(const Request& req, const core::RequestContext& ctx) {
  if (req.method != "POST") return MethodNotAllowed("POST");
  auto parsed = ParseJsonObject(req.body);
  if (!parsed.ok()) return ErrorResponse(parsed.status());
  const json& j = *parsed;
  auto spec_name = OptionalString(j, "spec");
  auto public_key_text = OptionalString(j, "public_key");
  for (const Status& st : {spec_name.status(), public_key_text.status()}) SIRR_RESPOND_IF_ERROR(st);
  if (!*spec_name) return ErrorResponse(InvalidArgumentError("spec is required"));
  auto spec = crypto::ParseKeySpec(**spec_name);
  if (!spec.ok()) return ErrorResponse(spec.status());
  auto message = RequiredHex(j, "message");
  if (!message.ok()) return ErrorResponse(message.status());
  auto signature = RequiredHex(j, "signature");
  if (!signature.ok()) return ErrorResponse(signature.status());
  if (!*public_key_text) return ErrorResponse(InvalidArgumentError("public_key is required"));
  auto public_key = crypto::ParsePublicKey(*spec, **public_key_text);
  if (!public_key.ok()) return ErrorResponse(public_key.status());
  auto alg = AlgorithmOf(j);
  if (!alg.ok()) return ErrorResponse(alg.status());
  auto verified = keys_.VerifyDetached(ctx, *spec, *public_key, *message, *signature, *alg);
  if (!verified.ok()) return ErrorResponse(verified.status());
  return JsonResponse(200, Dump(json{{"verified", *verified}}));
}

}  // namespace sirr::api

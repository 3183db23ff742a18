#include "core/keys.h"

#include "base/encoding.h"
#include "core/audited.h"
#include "core/text.h"
#include "crypto/crypto.h"
#include "crypto/envelope.h"
#include "crypto/hd/bip39.h"
#include "crypto/secp256k1.h"

namespace sirr::core {
namespace {

std::string KeyAad(const storage::KeyRow& row) {
  return crypto::EnvelopeAad("key", row.vault_id, row.id);
}

std::span<const uint8_t> AsSpan(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

bool IsMasterRef(const storage::VaultRow& vault, std::string_view ref) {
  return ref == kMasterKeyName || ref == Keys::MasterKeyRow(vault).id;
}

Status MasterKeyRefused(std::string_view what) {
  return FailedPreconditionError("the vault master key seals this vault's records and cannot be " +
                                 std::string(what));
}

Status CheckUsage(const storage::KeyRow& row, crypto::KeyUsage needed) {
  if (row.usage == crypto::UsageName(needed)) return OkStatus();
  return InvalidArgumentError("key '" + row.name + "' (" + row.spec + ") is a " + row.usage +
                              " key");
}

}  // namespace

struct Keys::Loaded {
  std::shared_ptr<Instance> instance;
  storage::VaultRow vault;
  storage::KeyRow row;
  crypto::KeySpec spec = crypto::KeySpec::kAes256Gcm;
  SecretBytes material;  // only when asked for
};

Status ValidateKeyName(std::string_view name) {
  SIRR_RETURN_IF_ERROR(ValidateDisplayName("key name", name, 128, /*alnum_first=*/false));
  if (name == kMasterKeyName)
    return InvalidArgumentError("the name 'master' is reserved for the vault master key");
  return OkStatus();
}

storage::KeyRow Keys::MasterKeyRow(const storage::VaultRow& vault) {
  // A stable UUID (version 8, RFC 9562) from the vault id.
  const std::string label = "sirr/v1/vault-master-key/" + vault.id;
  auto h = crypto::Sha256(AsSpan(label));
  h[6] = static_cast<uint8_t>((h[6] & 0x0f) | 0x80);
  h[8] = static_cast<uint8_t>((h[8] & 0x3f) | 0x80);
  static const char kHex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) id += '-';
    id += kHex[h[i] >> 4];
    id += kHex[h[i] & 15];
  }
  storage::KeyRow row;
  row.id = id;
  row.vault_id = vault.id;
  row.name = std::string(kMasterKeyName);
  row.description = "vault master key (seals the vault's records; not usable for operations)";
  row.spec = std::string(crypto::SpecName(crypto::KeySpec::kAes256Gcm));
  row.type = std::string(crypto::TypeName(crypto::KeyType::kSymmetric));
  row.usage = std::string(crypto::UsageName(crypto::KeyUsage::kEncryptDecrypt));
  row.created_at = vault.created_at;
  return row;
}

audit::Event Keys::KeyEvent(const RequestContext& ctx, std::string_view action,
                            std::string_view outcome, const storage::VaultRow* vault,
                            const storage::KeyRow* key, std::string detail,
                            std::string_view key_ref) {
  audit::Event e = NewEvent(ctx, action, outcome, vault);
  if (key) {
    e.key_id = key->id;
    e.key_name = key->name;
  } else {
    e.key_name = std::string(key_ref);
  }
  e.detail = std::move(detail);
  return e;
}

Status Keys::Audit(const RequestContext& ctx, std::string_view action, std::string_view outcome,
                   const storage::VaultRow* vault, const storage::KeyRow* key, std::string detail,
                   std::string_view key_ref) {
  return audit_.Append(KeyEvent(ctx, action, outcome, vault, key, std::move(detail), key_ref));
}

template <typename T>
StatusOr<T> Keys::Audited(const RequestContext& ctx, std::string_view action, const Loaded& loaded,
                          StatusOr<T> result, std::string detail) {
  if (!result.ok() && !detail.empty()) detail += "; ";
  if (!result.ok()) detail += result.status().message();
  SIRR_RETURN_IF_ERROR(Audit(ctx, action, OutcomeOf(result.status()), &loaded.vault, &loaded.row,
                             std::move(detail)));
  return result;
}

StatusOr<Keys::Loaded> Keys::Load(const RequestContext& ctx, std::string_view action,
                                  Capability needed, std::string_view vault_ref,
                                  std::string_view key_ref, bool with_material) {
  Loaded out;
  SIRR_ASSIGN_OR_RETURN(out.instance, keeper_.Acquire());
  SIRR_ASSIGN_OR_RETURN(out.vault, vaults_.Resolve(ctx, action, needed, vault_ref));
  if (IsMasterRef(out.vault, key_ref)) {
    storage::KeyRow master = MasterKeyRow(out.vault);
    SIRR_RETURN_IF_ERROR(Audit(ctx, action, "conflict", &out.vault, &master, "vault master key"));
    return MasterKeyRefused("used for operations");
  }
  auto row = storage_.GetKey(out.vault.id, key_ref, /*with_material=*/true);
  if (!row.ok()) return Missing(ctx, action, out.vault, row.status(), key_ref);
  out.row = std::move(row).value();
  auto spec = crypto::ParseKeySpec(out.row.spec);
  if (!spec.ok()) return DataLossError("key '" + out.row.name + "' has an unknown spec");
  out.spec = *spec;
  if (with_material) SIRR_RETURN_IF_ERROR(OpenMaterial(ctx, action, out));
  return out;
}

Status Keys::Missing(const RequestContext& ctx, std::string_view action,
                     const storage::VaultRow& vault, const Status& lookup,
                     std::string_view key_ref) {
  if (lookup.code() != StatusCode::kNotFound) return lookup;
  SIRR_RETURN_IF_ERROR(Audit(ctx, action, "not_found", &vault, nullptr, "", key_ref));
  return NotFoundError("key '" + std::string(key_ref) + "' not found");
}

Status Keys::OpenMaterial(const RequestContext& ctx, std::string_view action, Loaded& k) {
  SIRR_ASSIGN_OR_RETURN(auto vault_key, k.instance->KeyFor(k.vault));
  auto material =
      crypto::OpenEnvelope(vault_key->key.Decloak(), vault_key->id, k.row.material, KeyAad(k.row));
  k.row.material.clear();
  if (!material.ok()) {
    (void)Audit(ctx, action, "error", &k.vault, &k.row, "key material cannot be decrypted");
    return DataLossError("key '" + k.row.name + "' cannot be decrypted");
  }
  k.material = std::move(material).value();
  return OkStatus();
}

StatusOr<storage::KeyRow> Keys::Store(const RequestContext& ctx, std::string_view action,
                                      const storage::VaultRow& vault, storage::KeyRow row,
                                      crypto::GeneratedKey key, std::string detail) {
  SIRR_ASSIGN_OR_RETURN(auto instance, keeper_.Acquire());
  SIRR_ASSIGN_OR_RETURN(auto vault_key, instance->KeyFor(vault));
  row.public_key = std::move(key.public_key);
  SIRR_ASSIGN_OR_RETURN(row.material,
                        crypto::SealEnvelope(vault_key->key.Decloak(), vault_key->id,
                                             key.material.reveal(), KeyAad(row), random_));
  Status st = storage_.CreateKey(
      row, JournalOf(KeyEvent(ctx, action, "success", &vault, &row, detail), clock_));
  if (!st.ok()) {
    if (st.code() != StatusCode::kUnavailable)
      SIRR_RETURN_IF_ERROR(Audit(ctx, action, OutcomeOf(st), &vault, &row, std::move(detail)));
    return st;
  }
  row.material.clear();
  return row;
}

StatusOr<CreatedKey> Keys::Create(const RequestContext& ctx, std::string_view vault_ref,
                                  CreateKeyRequest req) {
  SIRR_ASSIGN_OR_RETURN(auto instance, keeper_.Acquire());
  SIRR_ASSIGN_OR_RETURN(storage::VaultRow vault,
                        vaults_.Resolve(ctx, "key.create", Capability::kKeysCreate, vault_ref));
  SIRR_RETURN_IF_ERROR(ValidateKeyName(req.name));
  if (req.spec.empty()) return InvalidArgumentError("spec is required");
  SIRR_ASSIGN_OR_RETURN(crypto::KeySpec spec, crypto::ParseKeySpec(req.spec));
  if (!req.type.empty()) {
    SIRR_ASSIGN_OR_RETURN(crypto::KeyType type, crypto::ParseKeyType(req.type));
    if (type != crypto::TypeOf(spec))
      return InvalidArgumentError("type " + std::string(crypto::TypeName(type)) +
                                  " does not fit spec " + std::string(crypto::SpecName(spec)) +
                                  " (" + std::string(crypto::TypeName(crypto::TypeOf(spec))) + ")");
  }
  crypto::KeyUsage usage = crypto::DefaultUsage(spec);
  if (!req.usage.empty()) {
    SIRR_ASSIGN_OR_RETURN(usage, crypto::ParseKeyUsage(req.usage));
    if (!crypto::AllowsUsage(spec, usage))
      return InvalidArgumentError("usage " + std::string(crypto::UsageName(usage)) +
                                  " does not fit spec " + std::string(crypto::SpecName(spec)));
  }
  if (req.description.size() > 1024)
    return InvalidArgumentError("description must be at most 1024 characters");
  SIRR_RETURN_IF_ERROR(RejectControlCharacters("description", req.description));

  if (spec != crypto::KeySpec::kBip39 && (req.mnemonic || !req.passphrase.empty()))
    return InvalidArgumentError("mnemonic and passphrase apply to BIP39 keys only");
  crypto::GeneratedKey key;
  if (spec == crypto::KeySpec::kBip39) {
    // An imported mnemonic, else a new one; with the passphrase either way.
    auto material = req.mnemonic
                        ? crypto::hd::EncodeMaterial(req.mnemonic->reveal_string(),
                                                     req.passphrase.reveal_string())
                        : crypto::hd::GenerateMaterial(random_, req.passphrase.reveal_string());
    if (!material.ok()) return material.status();
    SIRR_ASSIGN_OR_RETURN(key, crypto::Bip39KeyFrom(std::move(material).value()));
  } else {
    SIRR_ASSIGN_OR_RETURN(key, crypto::GenerateKey(spec, random_));
  }
  storage::KeyRow row;
  row.id = random_.Uuid();
  row.vault_id = vault.id;
  row.name = std::move(req.name);
  row.description = std::move(req.description);
  row.spec = std::string(crypto::SpecName(spec));
  row.type = std::string(crypto::TypeName(crypto::TypeOf(spec)));
  row.usage = std::string(crypto::UsageName(usage));
  row.created_at = clock_.NowMillis();
  CreatedKey out;
  if (req.ephemeral) {
    SIRR_ASSIGN_OR_RETURN(auto exported, crypto::ExportPrivate(spec, key.material));
    SIRR_RETURN_IF_ERROR(
        Audit(ctx, "key.create", "success", &vault, &row, row.spec + "; ephemeral, not stored"));
    row.public_key = std::move(key.public_key);
    out.row = std::move(row);
    out.private_field = std::move(exported.first);
    out.private_value = std::move(exported.second);
    return out;
  }
  const std::string detail = row.spec;
  SIRR_ASSIGN_OR_RETURN(out.row,
                        Store(ctx, "key.create", vault, std::move(row), std::move(key), detail));
  return out;
}

StatusOr<storage::KeyPage> Keys::List(const RequestContext& ctx, std::string_view vault_ref,
                                      const storage::KeyFilter& filter) {
  SIRR_ASSIGN_OR_RETURN(storage::VaultRow vault,
                        vaults_.Resolve(ctx, "key.list", Capability::kKeysRead, vault_ref));
  const storage::KeyRow master = MasterKeyRow(vault);
  const bool with_master = (filter.spec.empty() || filter.spec == master.spec) &&
                           (filter.type.empty() || filter.type == master.type);
  storage::KeyFilter f = filter;
  if (with_master) {
    if (f.offset == 0)
      f.limit = std::max<int64_t>(0, f.limit - 1);
    else
      f.offset -= 1;
  }
  SIRR_ASSIGN_OR_RETURN(storage::KeyPage page, storage_.ListKeys(vault.id, f));
  if (with_master) {
    page.total += 1;
    if (filter.offset == 0) page.rows.insert(page.rows.begin(), master);
  }
  SIRR_RETURN_IF_ERROR(
      Audit(ctx, "key.list", "success", &vault, nullptr,
            std::to_string(page.rows.size()) + " of " + std::to_string(page.total)));
  return page;
}

StatusOr<storage::KeyRow> Keys::Get(const RequestContext& ctx, std::string_view vault_ref,
                                    std::string_view key) {
  SIRR_ASSIGN_OR_RETURN(storage::VaultRow vault,
                        vaults_.Resolve(ctx, "key.read", Capability::kKeysRead, vault_ref));
  if (IsMasterRef(vault, key)) {
    storage::KeyRow master = MasterKeyRow(vault);
    SIRR_RETURN_IF_ERROR(Audit(ctx, "key.read", "success", &vault, &master));
    return master;
  }
  auto row = storage_.GetKey(vault.id, key, false);
  if (!row.ok()) return Missing(ctx, "key.read", vault, row.status(), key);
  SIRR_RETURN_IF_ERROR(Audit(ctx, "key.read", "success", &vault, &*row));
  return row;
}

StatusOr<storage::KeyRow> Keys::Delete(const RequestContext& ctx, std::string_view vault_ref,
                                       std::string_view key) {
  SIRR_ASSIGN_OR_RETURN(storage::VaultRow vault,
                        vaults_.Resolve(ctx, "key.delete", Capability::kKeysDelete, vault_ref));
  if (IsMasterRef(vault, key)) {
    storage::KeyRow master = MasterKeyRow(vault);
    SIRR_RETURN_IF_ERROR(Audit(ctx, "key.delete", "conflict", &vault, &master));
    return MasterKeyRefused("deleted; delete the vault instead");
  }
  auto row = storage_.DeleteKey(vault.id, key, [&](const storage::JournalContext& jc) {
    return std::vector<storage::JournalEntry>{
        JournalEntryOf(KeyEvent(ctx, "key.delete", "success", &vault, jc.key), clock_)};
  });
  if (row.ok()) {
    SIRR_ASSIGN_OR_RETURN(auto instance, keeper_.Acquire());
    instance->ForgetParsedKey(row->id);
  }
  if (!row.ok()) return Missing(ctx, "key.delete", vault, row.status(), key);
  return row;
}

StatusOr<Bytes> Keys::Encrypt(const RequestContext& ctx, std::string_view vault,
                              std::string_view key, const SecretBytes& plaintext,
                              std::optional<Bytes> nonce, const Bytes& aad) {
  SIRR_ASSIGN_OR_RETURN(Loaded k, Load(ctx, "key.encrypt", Capability::kKeysUse, vault, key,
                                       /*with_material=*/true));
  auto run = [&]() -> StatusOr<Bytes> {
    SIRR_RETURN_IF_ERROR(CheckUsage(k.row, crypto::KeyUsage::kEncryptDecrypt));
    if (plaintext.size() > limits_.max_data_bytes)
      return InvalidArgumentError("data is larger than the maximum of " +
                                  std::to_string(limits_.max_data_bytes) + " bytes");
    // Never a caller's nonce: one repeated (key, nonce) pair reveals the XOR of two plaintexts
    // and lets anyone forge AES-GCM tags. Sirr draws a fresh random 96-bit nonce per call.
    if (nonce)
      return InvalidArgumentError(
          "nonce is chosen by the server (a fresh random nonce per encryption): a caller-chosen "
          "nonce can repeat, and a repeated nonce under one key reveals the plaintexts; omit it");
    if (crypto::IsRsa(k.spec)) {
      if (!aad.empty()) return InvalidArgumentError("aad applies only to symmetric keys");
      return crypto::RsaOaepEncrypt(k.spec, k.row.public_key, plaintext.reveal());
    }
    if (!crypto::IsSymmetric(k.spec))
      return InvalidArgumentError("a C25519 key agrees keys (derive); it does not encrypt");
    return crypto::AeadEncrypt(k.spec, k.material, std::nullopt, plaintext.reveal(), aad, random_);
  };
  return Audited<Bytes>(ctx, "key.encrypt", k, run(), k.row.spec);
}

StatusOr<SecretBytes> Keys::Decrypt(const RequestContext& ctx, std::string_view vault,
                                    std::string_view key, const Bytes& data, const Bytes& aad) {
  SIRR_ASSIGN_OR_RETURN(Loaded k, Load(ctx, "key.decrypt", Capability::kKeysUse, vault, key,
                                       /*with_material=*/true));
  auto run = [&]() -> StatusOr<SecretBytes> {
    SIRR_RETURN_IF_ERROR(CheckUsage(k.row, crypto::KeyUsage::kEncryptDecrypt));
    if (data.size() > limits_.max_data_bytes + 64)
      return InvalidArgumentError("data is larger than the maximum of " +
                                  std::to_string(limits_.max_data_bytes) + " bytes");
    if (crypto::IsRsa(k.spec)) {
      if (!aad.empty()) return InvalidArgumentError("aad applies only to symmetric keys");
      return crypto::RsaOaepDecrypt(k.material, data);
    }
    if (!crypto::IsSymmetric(k.spec))
      return InvalidArgumentError("a C25519 key agrees keys (derive); it does not decrypt");
    return crypto::AeadDecrypt(k.spec, k.material, data, aad);
  };
  return Audited<SecretBytes>(ctx, "key.decrypt", k, run(), k.row.spec);
}

StatusOr<std::pair<crypto::hd::WalletKey, HdResult>> Keys::HdKey(const RequestContext& ctx,
                                                                 std::string_view action, Loaded& k,
                                                                 const HdOptions* o, bool advance) {
  namespace hd = crypto::hd;
  const bool parts = o && (o->coin || o->coin_abbr || o->account || o->change || o->index);
  if (o && o->path && parts)
    return InvalidArgumentError(
        "options.hdwallet takes either hd_derivation_path or coin/account/change/index, not both");
  hd::Bip44Path path;
  if (o && o->path) {
    SIRR_ASSIGN_OR_RETURN(path, hd::ParseBip44Path(*o->path));
  } else {
    hd::Coin coin = hd::Coin::kEthereum;
    if (o && o->coin) {
      SIRR_ASSIGN_OR_RETURN(coin, hd::CoinFromNumber(*o->coin));
    }
    if (o && o->coin_abbr) {
      SIRR_ASSIGN_OR_RETURN(hd::Coin named, hd::CoinFromAbbreviation(*o->coin_abbr));
      if (o->coin && named != coin) return InvalidArgumentError("coin and coin_abbr disagree");
      coin = named;
    }
    int64_t index = 0;
    if (o && o->index) {
      index = *o->index;
    } else if (advance) {
      SIRR_ASSIGN_OR_RETURN(
          index, storage_.NextHdIndex(k.vault.id, k.row.id, [&](const storage::JournalContext& jc) {
            return std::vector<storage::JournalEntry>{
                JournalEntryOf(KeyEvent(ctx, "key.hd_advance", "success", &k.vault, &k.row,
                                        "BIP44 index " + std::to_string(jc.index) + " taken"),
                               clock_)};
          }));
    } else if (k.row.hd_last_index) {
      index = *k.row.hd_last_index;
    } else {
      return InvalidArgumentError(
          "this wallet has not signed yet; give options.hdwallet to say which key to use");
    }
    SIRR_ASSIGN_OR_RETURN(path, hd::MakeBip44Path(coin, o && o->account ? *o->account : 0,
                                                  o && o->change ? *o->change : 0, index));
  }
  // The wallet's root key is cached in the unsealed instance (the seed costs ~2 ms of PBKDF2).
  auto wallet = k.instance->Wallet(k.row.id);
  if (!wallet) {
    SIRR_RETURN_IF_ERROR(OpenMaterial(ctx, action, k));
    SIRR_ASSIGN_OR_RETURN(hd::Wallet opened, hd::Wallet::FromMaterial(k.material));
    wallet = std::make_shared<const hd::Wallet>(std::move(opened));
    k.instance->CacheWallet(k.row.id, k.vault.id, wallet);
  }
  SIRR_ASSIGN_OR_RETURN(hd::WalletKey key, wallet->Derive(path));
  HdResult result{path.ToString(), key.address, "0x" + HexEncode(key.key.public_key), ""};
  return std::make_pair(std::move(key), std::move(result));
}

StatusOr<Bytes> Keys::Sign(const RequestContext& ctx, std::string_view vault, std::string_view key,
                           const Bytes& message,
                           std::optional<crypto::SignatureAlgorithm> rsa_algorithm,
                           const HdOptions* hd, HdResult* hd_out) {
  SIRR_ASSIGN_OR_RETURN(Loaded k, Load(ctx, "key.sign", Capability::kKeysUse, vault, key,
                                       /*with_material=*/false));
  std::string hd_path;
  auto run = [&]() -> StatusOr<Bytes> {
    SIRR_RETURN_IF_ERROR(CheckUsage(k.row, crypto::KeyUsage::kSignVerify));
    if (message.size() > limits_.max_data_bytes)
      return InvalidArgumentError("message is larger than the maximum of " +
                                  std::to_string(limits_.max_data_bytes) + " bytes");
    if (k.spec == crypto::KeySpec::kBip39) {
      if (message.size() != crypto::secp256k1::kDigestSize)
        return InvalidArgumentError("a BIP39 wallet signs a 32-byte digest; the message is " +
                                    std::to_string(message.size()) + " bytes");
      SIRR_ASSIGN_OR_RETURN(auto derived, HdKey(ctx, "key.sign", k, hd, /*advance=*/true));
      SIRR_ASSIGN_OR_RETURN(Bytes sig,
                            crypto::secp256k1::Sign(derived.first.key.private_key, message));
      hd_path = derived.second.path;
      if (hd_out) *hd_out = std::move(derived.second);
      return sig;
    }
    if (hd) return InvalidArgumentError("options.hdwallet applies to BIP39 keys only");
    if (!crypto::ParsedPrivateKey::Worthwhile(k.spec)) {
      SIRR_RETURN_IF_ERROR(OpenMaterial(ctx, "key.sign", k));
      return crypto::Sign(k.spec, k.material, message, rsa_algorithm);
    }
    // RSA / P-256: the parsed key is cached in the instance (dropped on seal and delete).
    auto parsed = k.instance->ParsedKey(k.row.id);
    if (!parsed) {
      SIRR_RETURN_IF_ERROR(OpenMaterial(ctx, "key.sign", k));
      SIRR_ASSIGN_OR_RETURN(parsed, crypto::ParsedPrivateKey::Parse(k.spec, k.material));
      k.instance->CacheParsedKey(k.row.id, k.vault.id, parsed);
    }
    return crypto::Sign(*parsed, message, rsa_algorithm);
  };
  auto result = run();
  std::string detail = k.row.spec;
  if (rsa_algorithm && crypto::IsRsa(k.spec)) detail += " " + std::string(JwsName(*rsa_algorithm));
  if (!hd_path.empty()) detail += " " + hd_path;
  return Audited<Bytes>(ctx, "key.sign", k, std::move(result), detail);
}

StatusOr<bool> Keys::Verify(const RequestContext& ctx, std::string_view vault, std::string_view key,
                            const Bytes& message, const Bytes& signature,
                            std::optional<crypto::SignatureAlgorithm> rsa_algorithm,
                            const HdOptions* hd, HdResult* hd_out) {
  SIRR_ASSIGN_OR_RETURN(Loaded k, Load(ctx, "key.verify", Capability::kKeysUse, vault, key,
                                       /*with_material=*/false));
  auto run = [&]() -> StatusOr<bool> {
    SIRR_RETURN_IF_ERROR(CheckUsage(k.row, crypto::KeyUsage::kSignVerify));
    if (message.size() > limits_.max_data_bytes)
      return InvalidArgumentError("message is larger than the maximum of " +
                                  std::to_string(limits_.max_data_bytes) + " bytes");
    if (k.spec == crypto::KeySpec::kBip39) {
      if (message.size() != crypto::secp256k1::kDigestSize)
        return InvalidArgumentError("a BIP39 wallet verifies a 32-byte digest; the message is " +
                                    std::to_string(message.size()) + " bytes");
      SIRR_ASSIGN_OR_RETURN(auto derived, HdKey(ctx, "key.verify", k, hd, /*advance=*/false));
      bool ok = crypto::secp256k1::Verify(derived.first.key.public_key, message, signature);
      if (hd_out) *hd_out = std::move(derived.second);
      return ok;
    }
    if (hd) return InvalidArgumentError("options.hdwallet applies to BIP39 keys only");
    return crypto::Verify(k.spec, k.row.public_key, message, signature, rsa_algorithm);
  };
  auto result = run();
  std::string detail = k.row.spec;
  if (result.ok()) detail += *result ? "; verified" : "; not verified";
  return Audited<bool>(ctx, "key.verify", k, std::move(result), detail);
}

StatusOr<bool> Keys::VerifyDetached(const RequestContext& ctx, crypto::KeySpec spec,
                                    const Bytes& public_key, const Bytes& message,
                                    const Bytes& signature,
                                    std::optional<crypto::SignatureAlgorithm> rsa_algorithm) {
  StatusOr<bool> result =
      message.size() > limits_.max_data_bytes
          ? StatusOr<bool>(InvalidArgumentError("message is larger than the maximum of " +
                                                std::to_string(limits_.max_data_bytes) + " bytes"))
          : crypto::Verify(spec, public_key, message, signature, rsa_algorithm);
  std::string detail = std::string(crypto::SpecName(spec));
  if (result.ok())
    detail += *result ? "; verified" : "; not verified";
  else
    detail += "; " + result.status().message();
  SIRR_RETURN_IF_ERROR(
      Audit(ctx, "key.verify_detached", OutcomeOf(result.status()), nullptr, nullptr, detail));
  return result;
}

StatusOr<storage::KeyRow> Keys::Derive(const RequestContext& ctx, std::string_view vault,
                                       std::string_view key, DeriveRequest req, HdResult* hd_out) {
  SIRR_ASSIGN_OR_RETURN(Loaded k, Load(ctx, "key.derive", Capability::kKeysUse, vault, key,
                                       /*with_material=*/false));
  if (k.spec == crypto::KeySpec::kBip39) {
    // A public view of one wallet key; nothing new is stored, so keys:use is enough.
    auto derived = HdKey(ctx, "key.derive", k, &req.hd, /*advance=*/true);
    if (!derived.ok()) return Audited<storage::KeyRow>(ctx, "key.derive", k, derived.status());
    const std::string detail = k.row.spec + " " + derived->second.path;
    derived->second.xpub = crypto::hd::SerializePublic(derived->first.key);
    if (hd_out) *hd_out = std::move(derived->second);
    k.row.material.clear();
    return Audited<storage::KeyRow>(ctx, "key.derive", k, k.row, detail);
  }
  SIRR_RETURN_IF_ERROR(OpenMaterial(ctx, "key.derive", k));
  SIRR_RETURN_IF_ERROR(vaults_.Authorize(ctx, "key.derive", Capability::kKeysCreate, &k.vault));
  auto derive = [&]() -> StatusOr<crypto::GeneratedKey> {
    if (req.name.empty()) return InvalidArgumentError("name is required");
    SIRR_RETURN_IF_ERROR(ValidateKeyName(req.name));
    if (req.description.size() > 1024)
      return InvalidArgumentError("description must be at most 1024 characters");
    SIRR_RETURN_IF_ERROR(RejectControlCharacters("description", req.description));
    if (crypto::IsSymmetric(k.spec)) {
      if (!req.context || req.context->empty())
        return InvalidArgumentError("context is required to derive from a symmetric key");
      if (req.context->size() > 1024)
        return InvalidArgumentError("context must be at most 1024 characters");
      if (req.peer_public_key) return InvalidArgumentError("public_key applies to C25519 keys");
      SIRR_ASSIGN_OR_RETURN(
          SecretBytes derived,
          crypto::HkdfSha256(k.material, {}, "sirr/v1/derive/" + *req.context, 32));
      return crypto::SymmetricKeyFrom(k.spec, std::move(derived));
    }
    if (k.spec == crypto::KeySpec::kX25519) {
      if (!req.peer_public_key) return InvalidArgumentError("public_key is required");
      crypto::KeySpec out_spec = crypto::KeySpec::kAes256Gcm;
      if (!req.spec.empty()) {
        SIRR_ASSIGN_OR_RETURN(out_spec, crypto::ParseKeySpec(req.spec));
        if (!crypto::IsSymmetric(out_spec))
          return InvalidArgumentError("a derived key must be AES-256-GCM or ChaCha20-Poly1305");
      }
      SIRR_ASSIGN_OR_RETURN(SecretBytes shared,
                            crypto::X25519SharedSecret(k.material, *req.peer_public_key));
      SIRR_ASSIGN_OR_RETURN(SecretBytes derived,
                            crypto::HkdfSha256(shared, {}, "sirr/v1/x25519", 32));
      return crypto::SymmetricKeyFrom(out_spec, std::move(derived));
    }
    return InvalidArgumentError("a " + k.row.spec +
                                " key cannot derive keys (symmetric and C25519 keys can)");
  };
  auto derived = derive();
  if (!derived.ok()) return Audited<storage::KeyRow>(ctx, "key.derive", k, derived.status());
  const crypto::KeySpec out_spec = crypto::IsSymmetric(k.spec) ? k.spec
                                   : req.spec.empty()          ? crypto::KeySpec::kAes256Gcm
                                                               : *crypto::ParseKeySpec(req.spec);
  storage::KeyRow row;
  row.id = random_.Uuid();
  row.vault_id = k.vault.id;
  row.name = std::move(req.name);
  row.description = std::move(req.description);
  row.spec = std::string(crypto::SpecName(out_spec));
  row.type = std::string(crypto::TypeName(crypto::KeyType::kSymmetric));
  row.usage = std::string(crypto::UsageName(crypto::KeyUsage::kEncryptDecrypt));
  row.created_at = clock_.NowMillis();
  return Store(ctx, "key.derive", k.vault, std::move(row), std::move(derived).value(),
               "derived from key " + k.row.id + " (" + k.row.spec + ")");
}

}  // namespace sirr::core

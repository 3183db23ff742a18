#include "sirr_keys.h"

#include <fstream>
#include <iostream>

namespace sirr_cli {

struct KeyArgs {
  CLI::App* key = nullptr;
  CLI::App *create = nullptr, *list = nullptr, *show = nullptr, *rm = nullptr;
  CLI::App *encrypt = nullptr, *decrypt = nullptr, *sign = nullptr, *verify = nullptr,
           *derive = nullptr;
  std::string name, spec, type, usage, description, data, file, aad, algorithm, signature, context,
      public_key, new_name, mnemonic_file, hd_path;
  bool ephemeral = false, hex = false, json_out = false;
};

namespace {

std::string KeyPath(const std::string& vault, const std::string& key = "",
                    const std::string& op = "") {
  std::string p = "/api/v1/vaults/" + sirr::client::Client::UrlEncode(vault) + "/keys";
  if (!key.empty()) p += "/" + sirr::client::Client::UrlEncode(key);
  if (!op.empty()) p += "/" + op;
  return p;
}

// The operation's input: the DATA argument ("-" or absent: stdin), or --file.
sirr::StatusOr<SecretBytes> Input(const KeyArgs& a, bool data_given) {
  if (!a.file.empty()) {
    if (data_given) return sirr::InvalidArgumentError("give the data as an argument or --file");
    std::ifstream in(a.file, std::ios::binary);
    if (!in) return sirr::InvalidArgumentError("cannot read --file " + a.file);
    return ReadAll(in);
  }
  if (data_given && a.data != "-") return SecretBytes::FromString(a.data);
  return ReadAll(std::cin);
}

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  return std::string(s);
}

void AddDataInput(CLI::App* cmd, KeyArgs& a, const char* what) {
  cmd->add_option("DATA", a.data, std::string(what) + " (- or absent: read stdin)");
  cmd->add_option("--file", a.file, std::string("Read the ") + what + " from this file");
}

void PrintKey(const json& j) {
  std::printf(
      "name:        %s\nid:          %s\nspec:        %s\ntype:        %s\n"
      "usage:       %s\ncreated:     %s\ndescription: %s\n",
      OrDash(j.value("name", json())).c_str(), OrDash(j.value("id", json())).c_str(),
      OrDash(j.value("spec", json())).c_str(), OrDash(j.value("type", json())).c_str(),
      OrDash(j.value("usage", json())).c_str(), OrDash(j.value("created_at", json())).c_str(),
      OrDash(j.value("description", json())).c_str());
  if (j.contains("address")) std::printf("address:     %s\n", OrDash(j["address"]).c_str());
  if (j.contains("fingerprint")) std::printf("fingerprint: %s\n", OrDash(j["fingerprint"]).c_str());
  if (j.contains("public_key")) std::printf("public key:  %s\n", OrDash(j["public_key"]).c_str());
}

}  // namespace

KeyCommands::KeyCommands(CLI::App& app) : a_(std::make_unique<KeyArgs>()) {
  KeyArgs& a = *a_;
  a.key = app.add_subcommand(
      "key",
      "Keys in a vault and operations with them: create, list, show, rm, encrypt, "
      "decrypt, sign, verify, derive");
  a.key->require_subcommand(1);
  a.create = a.key->add_subcommand("create", "Create a key (private parts stay in the vault)");
  a.create->add_option("NAME", a.name, "Key name ([A-Za-z0-9._-])")->required();
  a.create
      ->add_option("--spec", a.spec,
                   "AES-256-GCM, ChaCha20-Poly1305, Ed25519, secp256k1, P-256, RSA-2048, "
                   "RSA-3072, RSA-4096, C25519, BIP39 (HD wallet) or babyJubJub (EdDSA-Poseidon)")
      ->required();
  a.create->add_option("--mnemonic-file", a.mnemonic_file,
                       "BIP39: import the mnemonic in this file (- for stdin) instead of "
                       "generating one");
  a.create->add_option("--usage", a.usage, "encrypt/decrypt or sign/verify (default: the spec's)");
  a.create->add_option("--description", a.description, "Description (not secret)");
  a.create->add_flag("--ephemeral", a.ephemeral,
                     "Generate and print the key with its private part; never stored");
  a.create->add_flag("--json", a.json_out, "Print JSON");
  a.list = a.key->add_subcommand("list", "List keys (the vault master key first)");
  a.list->add_option("--spec", a.spec, "Only keys of this spec");
  a.list->add_option("--type", a.type, "symmetric or asymmetric");
  a.list->add_flag("--json", a.json_out, "Print JSON");
  a.show = a.key->add_subcommand("show", "Show a key's public parts");
  a.show->add_option("KEY", a.name, "Key id or name")->required();
  a.show->add_flag("--json", a.json_out, "Print JSON");
  a.rm = a.key->add_subcommand("rm", "Delete a key");
  a.rm->add_option("KEY", a.name, "Key id or name")->required();

  a.encrypt = a.key->add_subcommand(
      "encrypt", "Encrypt data; prints hex (symmetric: nonce | ciphertext | tag; RSA: OAEP)");
  a.encrypt->add_option("KEY", a.name, "Key id or name")->required();
  AddDataInput(a.encrypt, a, "plaintext");
  a.encrypt->add_option("--aad", a.aad, "Associated data (symmetric keys)");
  a.decrypt = a.key->add_subcommand("decrypt", "Decrypt hex data; prints the plaintext exactly");
  a.decrypt->add_option("KEY", a.name, "Key id or name")->required();
  AddDataInput(a.decrypt, a, "hex ciphertext");
  a.decrypt->add_option("--aad", a.aad, "Associated data given when encrypting");
  a.sign = a.key->add_subcommand("sign", "Sign a message; prints the hex signature");
  a.sign->add_option("KEY", a.name, "Key id or name")->required();
  AddDataInput(a.sign, a, "message");
  a.sign->add_flag(
      "--hex", a.hex,
      "The message is hex (a secp256k1 32-byte digest; a babyJubJub field element, big-endian)");
  a.sign->add_option("--algorithm", a.algorithm, "RSA: PS256, PS384, PS512, RS256, RS384, RS512");
  a.sign->add_option("--hd-path", a.hd_path,
                     "BIP39: BIP44 path m/44'/coin'/account'/change/index (default: next index)");
  a.verify = a.key->add_subcommand(
      "verify", "Verify a signature; prints verified / not verified (exit 0 / 1)");
  a.verify->add_option("KEY", a.name, "Key id or name")->required();
  AddDataInput(a.verify, a, "message");
  a.verify->add_option("--signature", a.signature, "Hex signature")->required();
  a.verify->add_flag("--hex", a.hex, "The message is hex");
  a.verify->add_option("--algorithm", a.algorithm, "RSA: PS256, ..., RS512");
  a.verify->add_option("--hd-path", a.hd_path, "BIP39: BIP44 path (default: the last index used)");
  a.derive = a.key->add_subcommand(
      "derive",
      "Derive a new stored key: from a symmetric key and --context, or from a C25519 "
      "key and a peer's --public-key");
  a.derive->add_option("KEY", a.name, "Key id or name")->required();
  a.derive->add_option("--name", a.new_name, "Name of the new key (symmetric and C25519 keys)");
  a.derive->add_option("--hd-path", a.hd_path,
                       "BIP39: show the key at this BIP44 path (default: next index)");
  a.derive->add_option("--context", a.context, "Context (symmetric keys)");
  a.derive->add_option("--public-key", a.public_key, "Peer X25519 public key, hex (C25519 keys)");
  a.derive->add_option("--spec", a.spec, "C25519: AES-256-GCM (default) or ChaCha20-Poly1305");
  a.derive->add_option("--description", a.description, "Description (not secret)");
}

KeyCommands::~KeyCommands() = default;

bool KeyCommands::parsed() const { return a_->key->parsed(); }

int KeyCommands::Run(const std::string& vault, const Expect& expect, const FetchAll& fetch_all) {
  KeyArgs& a = *a_;
  sirr::client::HttpResponse r;
  if (a.create->parsed()) {
    json body{{"name", a.name}, {"spec", a.spec}};
    if (!a.usage.empty()) body["usage"] = a.usage;
    if (!a.description.empty()) body["description"] = a.description;
    if (a.ephemeral) body["ephemeral"] = true;
    if (!a.mnemonic_file.empty()) {
      std::ifstream file;
      if (a.mnemonic_file != "-") {
        file.open(a.mnemonic_file, std::ios::binary);
        if (!file) return Usage("cannot read " + a.mnemonic_file);
      }
      auto words = ReadAll(a.mnemonic_file == "-" ? std::cin : file);
      if (!words.ok()) return Usage(words.status().message());
      body["mnemonic"] = std::string(words->reveal_string());
    }
    std::string payload = body.dump();
    if (body.contains("mnemonic")) {
      auto& v = body["mnemonic"].get_ref<std::string&>();
      sirr::SecureWipe(v.data(), v.size());
    }
    auto rc = expect("POST", KeyPath(vault), 201, &r, payload);
    sirr::SecureWipe(payload.data(), payload.size());
    if (rc) return *rc;
    json j = json::parse(r.body, nullptr, false);
    sirr::SecureWipe(r.body.data(), r.body.size());
    std::string field = j.contains("seed")       ? "seed"
                        : j.contains("mnemonic") ? "mnemonic"
                                                 : "private_key";
    if (a.json_out) {
      std::string text = j.dump(2);
      std::printf("%s\n", text.c_str());
      sirr::SecureWipe(text.data(), text.size());
    } else if (a.ephemeral && j.contains(field) && j[field].is_string()) {
      // The private part alone on stdout, the rest on stderr (as `token create`).
      std::printf("%s\n", j[field].get_ref<std::string&>().c_str());
      std::fprintf(stderr, "ephemeral %s key %s: %s; not stored, shown once.\n",
                   OrDash(j.value("spec", json())).c_str(), a.name.c_str(),
                   j.contains("public_key") ? ("public key " + OrDash(j["public_key"])).c_str()
                                            : "symmetric");
    } else {
      PrintKey(j);
    }
    if (j.contains(field) && j[field].is_string()) {
      auto& v = j[field].get_ref<std::string&>();
      sirr::SecureWipe(v.data(), v.size());
    }
    return 0;
  }
  if (a.list->parsed()) {
    std::string query;
    if (!a.spec.empty()) query += "&spec=" + sirr::client::Client::UrlEncode(a.spec);
    if (!a.type.empty()) query += "&type=" + sirr::client::Client::UrlEncode(a.type);
    json all = json::array();
    if (auto rc = fetch_all(KeyPath(vault), query, &all)) return *rc;
    if (a.json_out) return std::printf("%s\n", all.dump(2).c_str()), 0;
    std::printf("%-24s %-36s %-18s %-16s %s\n", "NAME", "ID", "SPEC", "USAGE", "CREATED");
    for (auto& e : all)
      std::printf("%-24s %-36s %-18s %-16s %s\n", OrDash(e.value("name", json())).c_str(),
                  OrDash(e.value("id", json())).c_str(), OrDash(e.value("spec", json())).c_str(),
                  OrDash(e.value("usage", json())).c_str(),
                  OrDash(e.value("created_at", json())).c_str());
    return 0;
  }
  if (a.show->parsed()) {
    if (auto rc = expect("GET", KeyPath(vault, a.name), 200, &r, "")) return *rc;
    json j = json::parse(r.body, nullptr, false);
    if (a.json_out) return std::printf("%s\n", j.dump(2).c_str()), 0;
    PrintKey(j);
    return 0;
  }
  if (a.rm->parsed()) {
    if (auto rc = expect("DELETE", KeyPath(vault, a.name), 204, &r, "")) return *rc;
    std::printf("deleted key %s\n", a.name.c_str());
    return 0;
  }
  if (a.derive->parsed()) {
    json body = json::object();
    if (!a.new_name.empty()) body["name"] = a.new_name;
    if (!a.hd_path.empty()) body["hd_derivation_path"] = a.hd_path;
    if (!a.context.empty()) body["context"] = a.context;
    if (!a.public_key.empty()) body["public_key"] = a.public_key;
    if (!a.spec.empty()) body["spec"] = a.spec;
    if (!a.description.empty()) body["description"] = a.description;
    if (auto rc = expect("POST", KeyPath(vault, a.name, "derive"), 201, &r, body.dump()))
      return *rc;
    json j = json::parse(r.body, nullptr, false);
    if (j.contains("hd_derivation_path")) {  // BIP39: the derived key's public parts
      std::printf("path:        %s\n", OrDash(j["hd_derivation_path"]).c_str());
      if (j.contains("address")) std::printf("address:     %s\n", OrDash(j["address"]).c_str());
      std::printf("public key:  %s\nxpub:        %s\n",
                  OrDash(j.value("public_key", json())).c_str(),
                  OrDash(j.value("xpub", json())).c_str());
      return 0;
    }
    PrintKey(j);
    return 0;
  }

  // Operations with data.
  CLI::App* cmd = a.encrypt->parsed()   ? a.encrypt
                  : a.decrypt->parsed() ? a.decrypt
                  : a.sign->parsed()    ? a.sign
                                        : a.verify;
  auto input = Input(a, cmd->count("DATA") > 0);
  if (!input.ok()) return Usage(input.status().message());
  json body = json::object();
  if (a.encrypt->parsed()) {
    std::string b64 = sirr::Base64Encode(input->reveal());
    body["data"] = b64;
    sirr::SecureWipe(b64.data(), b64.size());
    body["encoding"] = "base64";
    if (!a.aad.empty()) body["aad"] = sirr::Base64Encode(sirr::AsBytes(a.aad));
  } else if (a.decrypt->parsed()) {
    body["data"] = Trim(input->reveal_string());
    body["encoding"] = "base64";
    if (!a.aad.empty()) body["aad"] = sirr::Base64Encode(sirr::AsBytes(a.aad));
  } else {
    body["message"] = a.hex ? Trim(input->reveal_string()) : sirr::HexEncode(input->reveal());
    if (!a.algorithm.empty()) body["options"] = {{"algorithm", a.algorithm}};
    if (!a.hd_path.empty()) body["options"]["hdwallet"] = {{"hd_derivation_path", a.hd_path}};
    if (a.verify->parsed()) body["signature"] = a.signature;
  }
  const std::string op = cmd->get_name();
  std::string payload = body.dump();
  if (body.contains("data")) {
    auto& v = body["data"].get_ref<std::string&>();
    sirr::SecureWipe(v.data(), v.size());
  }
  auto rc = expect("POST", KeyPath(vault, a.name, op), op == "sign" ? 201 : 200, &r, payload);
  sirr::SecureWipe(payload.data(), payload.size());
  if (rc) return *rc;
  json j = json::parse(r.body, nullptr, false);
  if (!j.is_object()) return std::fprintf(stderr, "sirr: unexpected response\n"), kExitServer;
  if (op == "encrypt") return std::printf("%s\n", OrDash(j.value("data", json())).c_str()), 0;
  if (j.contains("hd_derivation_path"))  // BIP39: which wallet key, on stderr
    std::fprintf(stderr, "path %s%s%s\n", OrDash(j["hd_derivation_path"]).c_str(),
                 j.contains("address") ? " address " : "",
                 j.contains("address") ? OrDash(j["address"]).c_str() : "");
  if (op == "sign") return std::printf("%s\n", OrDash(j.value("signature", json())).c_str()), 0;
  if (op == "verify") {
    const bool ok = j.value("verified", false);
    std::printf("%s\n", ok ? "verified" : "not verified");
    return ok ? 0 : kExitRefused;
  }
  // decrypt: the plaintext exactly, as pull prints a value.
  if (!j.contains("data") || !j["data"].is_string())
    return std::fprintf(stderr, "sirr: unexpected response\n"), kExitServer;
  auto& data = j["data"].get_ref<std::string&>();
  auto plain = sirr::Base64DecodeSecret(data);
  sirr::SecureWipe(data.data(), data.size());
  sirr::SecureWipe(r.body.data(), r.body.size());
  if (!plain.ok()) return std::fprintf(stderr, "sirr: unexpected response\n"), kExitServer;
  std::fwrite(plain->reveal().data(), 1, plain->size(), stdout);
  return 0;
}

}  // namespace sirr_cli

// sirr key create | list | show | rm | encrypt | decrypt | sign | verify | derive: keys in the
// selected vault and operations with them (docs/keys.md); private parts never leave the server.

#include <cerrno>
#include <cstring>
#include <fstream>
#include <istream>

#include "base/encoding.h"
#include "cli/commands.h"

namespace sirr::cli {
namespace {

struct KeyArgs {
  CLI::App* key = nullptr;
  CLI::App *create = nullptr, *list = nullptr, *show = nullptr, *rm = nullptr;
  CLI::App *encrypt = nullptr, *decrypt = nullptr, *sign = nullptr, *verify = nullptr,
           *derive = nullptr;
  std::string name, spec, type, usage, description, data, file, aad, algorithm, signature, context,
      public_key, new_name, mnemonic_file, hd_path;
  bool ephemeral = false, hex = false;
};

std::string KeyPath(const std::string& vault, const std::string& key = "",
                    const std::string& op = "") {
  std::string p = "/api/v1/vaults/" + Enc(vault) + "/keys";
  if (!key.empty()) p += "/" + Enc(key);
  if (!op.empty()) p += "/" + op;
  return p;
}

// The operation's input: the DATA argument ("-" or absent: stdin), or --file.
StatusOr<SecretBytes> Input(const KeyArgs& a, bool data_given, std::istream& in) {
  if (!a.file.empty()) {
    if (data_given) return InvalidArgumentError("give the data as an argument or --file, not both");
    return ReadFileSecret(a.file, "--file");
  }
  if (data_given && a.data != "-") return SecretBytes::FromString(a.data);
  return ReadAll(in);
}

void AddDataInput(CLI::App* cmd, KeyArgs& a, const char* what) {
  cmd->add_option("DATA", a.data, std::string(what) + " (- or absent: read stdin)");
  cmd->add_option("--file", a.file, std::string("Read the ") + what + " from this file");
}

void PrintKey(Session& s, const json& j) {
  s.Out(
      "name:        %s\nid:          %s\nspec:        %s\ntype:        %s\n"
      "usage:       %s\ncreated:     %s\ndescription: %s\n",
      Text(j.value("name", json())).c_str(), Text(j.value("id", json())).c_str(),
      Text(j.value("spec", json())).c_str(), Text(j.value("type", json())).c_str(),
      Text(j.value("usage", json())).c_str(), Text(j.value("created_at", json())).c_str(),
      Text(j.value("description", json())).c_str());
  if (j.contains("address")) s.Out("address:     %s\n", Text(j["address"]).c_str());
  if (j.contains("fingerprint")) s.Out("fingerprint: %s\n", Text(j["fingerprint"]).c_str());
  if (j.contains("public_key")) s.Out("public key:  %s\n", Text(j["public_key"]).c_str());
}

class Keys final : public Command {
 public:
  explicit Keys(CLI::App& app) {
    KeyArgs& a = a_;
    a.key = app.add_subcommand(
        "key",
        "Keys in a vault and operations with them: create, list, show, rm, encrypt, "
        "decrypt, sign, verify, derive");
    a.key->require_subcommand(1);
    a.create = a.key->add_subcommand("create", "Create a key (private parts stay in the vault)");
    a.create
        ->add_option(
            "NAME", a.name,
            "Key name (letters, digits, spaces and . _ -; names may repeat, ids are unique)")
        ->required();
    a.create
        ->add_option("--spec", a.spec,
                     "AES-256-GCM, ChaCha20-Poly1305, Ed25519, secp256k1, P-256, RSA-2048, "
                     "RSA-3072, RSA-4096, C25519, BIP39 (HD wallet) or babyJubJub (EdDSA-Poseidon)")
        ->required();
    a.create->add_option("--mnemonic-file", a.mnemonic_file,
                         "BIP39: import the mnemonic in this file (- for stdin) instead of "
                         "generating one");
    a.create->add_option("--usage", a.usage,
                         "encrypt/decrypt or sign/verify (default: the spec's)");
    a.create->add_option("--description", a.description, "Description (not secret)");
    a.create->add_flag("--ephemeral", a.ephemeral,
                       "Generate and print the key with its private part; never stored");
    a.list = a.key->add_subcommand("list", "List keys (the vault master key first)");
    a.list->add_option("--spec", a.spec, "Only keys of this spec");
    a.list->add_option("--type", a.type, "symmetric or asymmetric");
    a.show = a.key->add_subcommand("show", "Show a key's public parts");
    a.show->add_option("KEY", a.name, "Key id or name")->required();
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
    a.verify->add_option("--hd-path", a.hd_path,
                         "BIP39: BIP44 path (default: the last index used)");
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
    Examples(a.create, {"sirr key create signer --spec Ed25519",
                        "sirr key create box --spec AES-256-GCM --description 'backups'",
                        "sirr key create w --spec BIP39 --mnemonic-file words.txt"});
    Examples(a.list, {"sirr key list", "sirr key list --spec Ed25519 --json"});
    Examples(a.show, {"sirr key show signer"});
    Examples(a.rm, {"sirr key rm signer"});
    Examples(a.encrypt, {"sirr key encrypt box 'data'", "sirr key encrypt box --file in.bin"});
    Examples(a.decrypt,
             {"sirr key decrypt box 6c0f…", "sirr key encrypt box x | sirr key decrypt box"});
    Examples(a.sign,
             {"echo -n hello | sirr key sign signer", "sirr key sign w --hex 0x$(sha256sum …)",
              "sirr key sign rsa --algorithm PS256 message"});
    Examples(a.verify, {"sirr key verify signer --signature 9f2a… hello"});
    Examples(a.derive, {"sirr key derive box --name box-2025 --context 2025",
                        "sirr key derive agree --name shared --public-key 3b6a…",
                        "sirr key derive w --hd-path \"m/44'/60'/0'/0/7\""});
  }

  bool parsed() const override { return a_.key->parsed(); }

  int Run(Session& s) override {
    if (a_.create->parsed()) return Create(s);
    if (a_.list->parsed()) return List(s);
    if (a_.show->parsed()) return Show(s);
    if (a_.rm->parsed()) return Remove(s);
    if (a_.derive->parsed()) return Derive(s);
    return Operate(s);
  }

 private:
  int Create(Session& s) {
    KeyArgs& a = a_;
    const std::string& vault = s.settings().vault;
    client::HttpResponse r;
    json body{{"name", a.name}, {"spec", a.spec}};
    if (!a.usage.empty()) body["usage"] = a.usage;
    if (!a.description.empty()) body["description"] = a.description;
    if (a.ephemeral) body["ephemeral"] = true;
    if (!a.mnemonic_file.empty()) {
      std::ifstream file;
      if (a.mnemonic_file != "-") {
        file.open(a.mnemonic_file, std::ios::binary);
        if (!file)
          return s.Usage("cannot read --mnemonic-file " + a.mnemonic_file + ": " +
                         std::strerror(errno));
      }
      auto words = ReadAll(a.mnemonic_file == "-" ? s.io().in : file);
      if (!words.ok()) return s.Usage(words.status().message());
      body["mnemonic"] = std::string(words->reveal_string());
    }
    std::string payload = body.dump();
    if (body.contains("mnemonic")) {
      auto& v = body["mnemonic"].get_ref<std::string&>();
      SecureWipe(v.data(), v.size());
    }
    auto rc = s.Expect("POST", KeyPath(vault), 201, &r, payload);
    SecureWipe(payload.data(), payload.size());
    if (rc) return *rc;
    json j = json::parse(r.body, nullptr, false);
    SecureWipe(r.body.data(), r.body.size());
    std::string field = j.contains("seed")       ? "seed"
                        : j.contains("mnemonic") ? "mnemonic"
                                                 : "private_key";
    if (s.json_output()) {
      std::string text = j.dump(2);
      s.Out("%s\n", text.c_str());
      SecureWipe(text.data(), text.size());
    } else if (a.ephemeral && j.contains(field) && j[field].is_string()) {
      // The private part alone on stdout, the rest on stderr (as `token create`).
      s.Out("%s\n", j[field].get_ref<std::string&>().c_str());
      s.Err(
          "ephemeral %s key %s: %s; not stored, shown once.\n",
          Text(j.value("spec", json())).c_str(), a.name.c_str(),
          j.contains("public_key") ? ("public key " + Text(j["public_key"])).c_str() : "symmetric");
    } else {
      PrintKey(s, j);
    }
    if (j.contains(field) && j[field].is_string()) {
      auto& v = j[field].get_ref<std::string&>();
      SecureWipe(v.data(), v.size());
    }
    return 0;
  }

  int List(Session& s) {
    KeyArgs& a = a_;
    const std::string& vault = s.settings().vault;
    client::HttpResponse r;
    std::string query;
    if (!a.spec.empty()) query += "&spec=" + Enc(a.spec);
    if (!a.type.empty()) query += "&type=" + Enc(a.type);
    json all = json::array();
    if (auto rc = s.FetchAll(KeyPath(vault), query, &all)) return *rc;
    if (s.json_output()) return s.PrintJson(all), 0;
    s.Out("%-24s %-36s %-18s %-16s %s\n", "NAME", "ID", "SPEC", "USAGE", "CREATED");
    for (auto& e : all)
      s.Out("%-24s %-36s %-18s %-16s %s\n", Text(e.value("name", json())).c_str(),
            Text(e.value("id", json())).c_str(), Text(e.value("spec", json())).c_str(),
            Text(e.value("usage", json())).c_str(), Text(e.value("created_at", json())).c_str());
    return 0;
  }

  int Show(Session& s) {
    KeyArgs& a = a_;
    const std::string& vault = s.settings().vault;
    client::HttpResponse r;
    if (auto rc = s.Expect("GET", KeyPath(vault, a.name), 200, &r, "")) return *rc;
    json j = json::parse(r.body, nullptr, false);
    if (s.json_output()) return s.PrintJson(j), 0;
    PrintKey(s, j);
    return 0;
  }

  int Remove(Session& s) {
    KeyArgs& a = a_;
    const std::string& vault = s.settings().vault;
    client::HttpResponse r;
    if (auto rc = s.Expect("DELETE", KeyPath(vault, a.name), 204, &r, "")) return *rc;
    if (s.json_output()) return s.PrintJson(json{{"name", a.name}, {"deleted", true}}), 0;
    s.Out("deleted key %s\n", a.name.c_str());
    return 0;
  }

  int Derive(Session& s) {
    KeyArgs& a = a_;
    const std::string& vault = s.settings().vault;
    client::HttpResponse r;
    json body = json::object();
    if (!a.new_name.empty()) body["name"] = a.new_name;
    if (!a.hd_path.empty()) body["hd_derivation_path"] = a.hd_path;
    if (!a.context.empty()) body["context"] = a.context;
    if (!a.public_key.empty()) body["public_key"] = a.public_key;
    if (!a.spec.empty()) body["spec"] = a.spec;
    if (!a.description.empty()) body["description"] = a.description;
    if (auto rc = s.Expect("POST", KeyPath(vault, a.name, "derive"), 201, &r, body.dump()))
      return *rc;
    json j = json::parse(r.body, nullptr, false);
    if (s.json_output()) return s.PrintJson(j), 0;
    if (j.contains("hd_derivation_path")) {  // BIP39: the derived key's public parts
      s.Out("path:        %s\n", Text(j["hd_derivation_path"]).c_str());
      if (j.contains("address")) s.Out("address:     %s\n", Text(j["address"]).c_str());
      s.Out("public key:  %s\nxpub:        %s\n", Text(j.value("public_key", json())).c_str(),
            Text(j.value("xpub", json())).c_str());
      return 0;
    }
    PrintKey(s, j);
    return 0;
  }

  // encrypt, decrypt, sign, verify: operations with data.
  int Operate(Session& s) {
    KeyArgs& a = a_;
    const std::string& vault = s.settings().vault;
    client::HttpResponse r;
    CLI::App* cmd = a.encrypt->parsed()   ? a.encrypt
                    : a.decrypt->parsed() ? a.decrypt
                    : a.sign->parsed()    ? a.sign
                                          : a.verify;
    auto input = Input(a, cmd->count("DATA") > 0, s.io().in);
    if (!input.ok()) return s.Usage(input.status().message());
    json body = json::object();
    if (a.encrypt->parsed()) {
      std::string b64 = Base64Encode(input->reveal());
      body["data"] = b64;
      SecureWipe(b64.data(), b64.size());
      body["encoding"] = "base64";
      if (!a.aad.empty()) body["aad"] = Base64Encode(AsBytes(a.aad));
    } else if (a.decrypt->parsed()) {
      body["data"] = Trim(input->reveal_string());
      body["encoding"] = "base64";
      if (!a.aad.empty()) body["aad"] = Base64Encode(AsBytes(a.aad));
    } else {
      body["message"] = a.hex ? Trim(input->reveal_string()) : HexEncode(input->reveal());
      if (!a.algorithm.empty()) body["options"] = {{"algorithm", a.algorithm}};
      if (!a.hd_path.empty()) body["options"]["hdwallet"] = {{"hd_derivation_path", a.hd_path}};
      if (a.verify->parsed()) body["signature"] = a.signature;
    }
    const std::string op = cmd->get_name();
    std::string payload = body.dump();
    if (body.contains("data")) {
      auto& v = body["data"].get_ref<std::string&>();
      SecureWipe(v.data(), v.size());
    }
    auto rc = s.Expect("POST", KeyPath(vault, a.name, op), op == "sign" ? 201 : 200, &r, payload);
    SecureWipe(payload.data(), payload.size());
    if (rc) return *rc;
    json j = json::parse(r.body, nullptr, false);
    if (!j.is_object()) return s.Fail(kExitServer, "unexpected response from the server");
    if (s.json_output()) {  // the API's response (decrypt: base64 "data" with its "encoding")
      s.PrintJson(j);
      if (j.contains("data") && j["data"].is_string()) {
        auto& data = j["data"].get_ref<std::string&>();
        SecureWipe(data.data(), data.size());
      }
      SecureWipe(r.body.data(), r.body.size());
      return op == "verify" && !j.value("verified", false) ? kExitRefused : 0;
    }
    if (op == "encrypt") return s.Out("%s\n", Text(j.value("data", json())).c_str()), 0;
    if (j.contains("hd_derivation_path"))  // BIP39: which wallet key, on stderr
      s.Err("path %s%s%s\n", Text(j["hd_derivation_path"]).c_str(),
            j.contains("address") ? " address " : "",
            j.contains("address") ? Text(j["address"]).c_str() : "");
    if (op == "sign") return s.Out("%s\n", Text(j.value("signature", json())).c_str()), 0;
    if (op == "verify") {
      const bool ok = j.value("verified", false);
      s.Out("%s\n", ok ? "verified" : "not verified");
      return ok ? 0 : kExitRefused;
    }
    // decrypt: the plaintext exactly, as pull prints a value.
    if (!j.contains("data") || !j["data"].is_string())
      return s.Fail(kExitServer, "unexpected response from the server");
    auto& data = j["data"].get_ref<std::string&>();
    auto plain = Base64DecodeSecret(data);
    SecureWipe(data.data(), data.size());
    SecureWipe(r.body.data(), r.body.size());
    if (!plain.ok()) return s.Fail(kExitServer, "unexpected response from the server");
    s.io().out.write(reinterpret_cast<const char*>(plain->reveal().data()),
                     static_cast<std::streamsize>(plain->size()));
    return 0;
  }

  KeyArgs a_;
};

}  // namespace

std::unique_ptr<Command> KeyCommands(CLI::App& app) { return std::make_unique<Keys>(app); }

}  // namespace sirr::cli

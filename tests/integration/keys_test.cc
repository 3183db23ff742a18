// Keys and cryptographic operations through a real sirrd, checked against independent
// implementations: python3-cryptography (tests/oracles/keys_oracle.py) and @noble/curves
// (tests/oracles/keys_noble.mjs).

#include <algorithm>
#include <mutex>
#include <set>

#include "sirrd_fixture.h"

namespace sirr_it {
namespace {

const std::string kKeys = "/api/v1/vaults/default/keys";

class KeysIt : public SirrdTest {
 protected:
  void SetUp() override {
    SirrdTest::SetUp();
    ASSERT_TRUE(Start());
  }

  json Post(const std::string& path, const json& body, int want) {
    auto r = Http("POST", path, body.dump());
    EXPECT_EQ(r.status, want) << path << " " << body.dump().substr(0, 200) << " -> "
                              << r.body.substr(0, 300);
    return r.body.empty() ? json() : json::parse(r.body, nullptr, false);
  }
  json CreateKey(const std::string& name, const std::string& spec, json extra = json::object()) {
    extra["name"] = name;
    extra["spec"] = spec;
    return Post(kKeys, extra, 201);
  }
  json Oracle(const std::string& mode, const json& input) {
    auto r =
        Exec({"/usr/bin/python3", SIRR_ORACLE_DIR "/keys_oracle.py", mode}, {}, input.dump(), dir_);
    EXPECT_EQ(r.code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }
  // @noble/curves, or null when it is not installed.
  std::optional<json> Noble(const std::string& mode, const json& input) {
    fs::path dir = SIRR_NODE_ORACLE_DIR;
    if (access("/usr/bin/node", X_OK) != 0 || !fs::exists(dir / "node_modules/@noble"))
      return std::nullopt;
    fs::copy_file(SIRR_ORACLE_DIR "/keys_noble.mjs", dir / "keys_noble.mjs",
                  fs::copy_options::overwrite_existing);
    auto r =
        Exec({"/usr/bin/node", (dir / "keys_noble.mjs").string(), mode}, {}, input.dump(), dir_);
    EXPECT_EQ(r.code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }
  static std::string Hex(const std::string& s) {
    static const char* k = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
      out += k[c >> 4];
      out += k[c & 15];
    }
    return out;
  }
};

TEST_F(KeysIt, SignaturesVerifyWithPythonCryptographyAndNoble) {
  const std::string message = Hex("the quick brown fox");
  const std::string digest = "a0dc65ffca799873cbea0ac274015b9526505daaaed385155425f7337704883e";
  json cases = json::array();
  struct Case {
    std::string name, spec, alg, message;
  };
  std::vector<Case> specs = {
      {"ed", "Ed25519", "", message},          {"p256", "p-256", "", message},
      {"k1", "secp256k1", "", digest},         {"rsa2k", "RSA-2048", "PS256", message},
      {"rsa3k", "RSA-3072", "PS384", message}, {"rsa4k", "rsa-4096", "PS512", message}};
  json k1;
  for (const auto& c : specs) {
    json key = CreateKey(c.name, c.spec);
    ASSERT_TRUE(key.contains("public_key")) << key.dump();
    if (c.spec == "secp256k1") k1 = key;
    std::vector<std::string> algs = {c.alg};
    if (c.spec == "RSA-2048") algs = {"PS256", "PS384", "PS512", "RS256", "RS384", "RS512"};
    for (const auto& alg : algs) {
      json body{{"message", c.message}};
      if (!alg.empty()) body["options"] = {{"algorithm", alg}};
      json sig = Post(kKeys + "/" + c.name + "/sign", body, 201);
      json item{{"spec", key["spec"]},
                {"public_key", key["public_key"]},
                {"message", c.message},
                {"signature", sig["signature"]}};
      if (!alg.empty()) item["algorithm"] = alg;
      cases.push_back(item);
      // The vault verifies its own signature, and refuses it for another message.
      body["signature"] = sig["signature"];
      EXPECT_EQ(Post(kKeys + "/" + c.name + "/verify", body, 200)["verified"], true);
    }
  }
  json verdicts = Oracle("verify", cases);
  ASSERT_EQ(verdicts.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) EXPECT_EQ(verdicts[i], true) << cases[i].dump();
  // The oracle can say no: every signature over a changed message is refused.
  for (auto& c : cases) c["message"] = c["spec"] == "secp256k1" ? std::string(64, '0') : "00";
  for (const auto& v : Oracle("verify", cases)) EXPECT_EQ(v, false);

  // secp256k1: noble verifies, recovers the key from r|s|v, and computes the same address.
  json sig = Post(kKeys + "/k1/sign", {{"message", digest}}, 201);
  ASSERT_EQ(sig["signature"].get<std::string>().size(), 130u);
  auto noble = Noble("check", json::array({{{"public_key", k1["public_key"]},
                                            {"digest", digest},
                                            {"signature", sig["signature"]},
                                            {"address", k1["address"]}}}));
  if (!noble) GTEST_SKIP() << "@noble/curves is not installed (scripts/install-oracles.sh)";
  EXPECT_EQ((*noble)[0], json({{"verified", true}, {"recovered", true}, {"address", true}}));
}

TEST_F(KeysIt, SignaturesMadeByPythonVerifyThroughDetachedVerify) {
  json made = Oracle("sign", json::object());
  ASSERT_GE(made.size(), 9u);
  for (auto& item : made) {
    json body{{"spec", item["spec"]},
              {"message", item["message"]},
              {"signature", item["signature"]},
              {"public_key", item["public_key"]}};
    if (item.contains("algorithm")) body["options"] = {{"algorithm", item["algorithm"]}};
    EXPECT_EQ(Post("/api/v1/verify", body, 200)["verified"], true) << body.dump();
    std::string tampered = item["signature"];
    tampered[10] = tampered[10] == '0' ? '1' : '0';
    body["signature"] = tampered;
    EXPECT_EQ(Post("/api/v1/verify", body, 200)["verified"], false) << body.dump();
    body["signature"] = tampered.substr(0, tampered.size() - 2);  // wrong length: false
    EXPECT_EQ(Post("/api/v1/verify", body, 200)["verified"], false) << body.dump();
  }
  // Each missing field is named.
  json full{{"spec", "Ed25519"},
            {"message", "00"},
            {"signature", "00"},
            {"public_key", "0x" + std::string(64, '1')}};
  for (const char* field : {"spec", "message", "signature", "public_key"}) {
    json body = full;
    body.erase(field);
    json err = Post("/api/v1/verify", body, 422);
    EXPECT_EQ(err["errors"][0]["message"], std::string(field) + " is required");
  }
  full["public_key"] = "0x" + std::string(62, '1');  // wrong-length key: false, never true
  EXPECT_EQ(Post("/api/v1/verify", full, 200)["verified"], false);
}

// Provide's clients treat vault and key names as display labels and address by id: a vault
// named with spaces is reached percent-encoded (and by the CLI), key names repeat within a
// vault, a repeated name is refused with 409 listing the ids, and detached verify refuses
// empty fields (422) instead of answering verified:false.
TEST_F(KeysIt, ProvideClientsDisplayNamesRepeatedKeyNamesAndEmptyVerifyFields) {
  json vault = Post("/api/v1/vaults", {{"name", "vaulty vault"}}, 201);
  const std::string keys = "/api/v1/vaults/vaulty%20vault/keys";
  json a = Post(keys, {{"name", "test key"}, {"spec", "Ed25519"}}, 201);
  EXPECT_EQ(a["vault_id"], vault["id"]);
  auto one = Http("GET", keys + "/test%20key");
  EXPECT_EQ(one.status, 200) << one.body;
  json b = Post(keys, {{"name", "test key"}, {"spec", "Ed25519"}}, 201);
  EXPECT_NE(a["id"], b["id"]);
  auto ambiguous = Http("GET", keys + "/test%20key");
  EXPECT_EQ(ambiguous.status, 409);
  EXPECT_NE(ambiguous.body.find(a["id"].get<std::string>()), std::string::npos) << ambiguous.body;
  EXPECT_NE(ambiguous.body.find(b["id"].get<std::string>()), std::string::npos) << ambiguous.body;
  json sig = Post(keys + "/" + b["id"].get<std::string>() + "/sign", {{"message", "00"}}, 201);
  auto listed = Http("GET", keys);
  EXPECT_EQ(json::parse(listed.body).size(), 3u);  // the vault master key and the two
  // The CLI reaches the vault by its display name.
  EXPECT_EQ(Cli({"--vault", "vaulty vault", "push", "s", "--value", "v"}).code, 0);
  EXPECT_EQ(Cli({"--vault", "vaulty vault", "pull", "s"}).out, "v");
  // Detached verify: empty message, signature or public key is malformed, not "false".
  json full{{"spec", "Ed25519"},
            {"message", "00"},
            {"signature", sig["signature"]},
            {"public_key", b["public_key"]}};
  EXPECT_EQ(Post("/api/v1/verify", full, 200)["verified"], true);
  for (const char* field : {"message", "signature", "public_key"}) {
    json body = full;
    body[field] = "";
    json err = Post("/api/v1/verify", body, 422);
    EXPECT_EQ(err["errors"][0]["message"], std::string(field) + " must not be empty");
  }
}

TEST_F(KeysIt, CiphertextsCrossBothWaysThroughX25519DerivedKeys) {
  json x = CreateKey("agree", "C25519");
  json mine = Oracle("x25519-keypair", json::object());
  for (const std::string spec : {"AES-256-GCM", "ChaCha20-Poly1305"}) {
    json derived =
        Post(kKeys + "/agree/derive",
             {{"name", "shared-" + spec}, {"public_key", mine["public"]}, {"spec", spec}}, 201);
    EXPECT_EQ(derived["spec"], spec);
    const std::string path = kKeys + "/" + derived["id"].get<std::string>();
    // Vault -> python.
    json ct = Post(path + "/encrypt", {{"data", "to python"}, {"aad", "ctx"}}, 200);
    json opened = Oracle("aead-decrypt", {{"x25519_private", mine["private"]},
                                          {"peer_public", x["public_key"]},
                                          {"spec", spec},
                                          {"data", ct["data"]},
                                          {"aad", "ctx"}});
    EXPECT_EQ(opened["plaintext"], "to python");
    // Python -> vault; a wrong aad or a flipped bit fails with the one message.
    json sealed = Oracle("aead-encrypt", {{"x25519_private", mine["private"]},
                                          {"peer_public", x["public_key"]},
                                          {"spec", spec},
                                          {"plaintext", "from python"},
                                          {"aad", "ctx"}});
    EXPECT_EQ(Post(path + "/decrypt", {{"data", sealed["data"]}, {"aad", "ctx"}}, 200)["data"],
              "from python");
    json wrong = Post(path + "/decrypt", {{"data", sealed["data"]}, {"aad", "other"}}, 422);
    EXPECT_EQ(wrong["errors"][0]["message"], "decryption failed");
  }
  // RSA-OAEP: python encrypts for the vault's public key; the vault decrypts.
  json rsa = CreateKey("oaep", "RSA-2048", {{"usage", "encrypt/decrypt"}});
  json sealed = Oracle("rsa-encrypt", {{"public_key", rsa["public_key"]}, {"plaintext", "hi"}});
  EXPECT_EQ(Post(kKeys + "/oaep/decrypt", {{"data", sealed["data"]}}, 200)["data"], "hi");
  // Plaintext over k - 66 bytes is refused.
  EXPECT_EQ(Post(kKeys + "/oaep/encrypt", {{"data", std::string(190, 'a')}}, 200)["data"]
                .get<std::string>()
                .size(),
            512u);
  Post(kKeys + "/oaep/encrypt", {{"data", std::string(191, 'a')}}, 422);
}

TEST_F(KeysIt, BadInputGetsTheRight4xxAndChangesNothing) {
  CreateKey("aes", "AES-256-GCM");
  CreateKey("ed", "Ed25519");
  CreateKey("rsa", "RSA-2048");
  auto before = Http("GET", kKeys).body;
  struct Bad {
    std::string path;
    json body;
    int status;
  };
  const std::vector<Bad> bad = {
      {kKeys, {{"name", "x"}}, 422},                   // no spec
      {kKeys, {{"name", "x"}, {"spec", "DES"}}, 422},  // unknown spec
      {kKeys, {{"name", "x"}, {"spec", 7}}, 422},      // wrong type
      {kKeys, {{"spec", "Ed25519"}}, 422},             // no name
      {kKeys, {{"name", "x"}, {"spec", "Ed25519"}, {"usage", "encrypt/decrypt"}}, 422},
      {kKeys, {{"name", "x"}, {"spec", "AES-256-GCM"}, {"type", "asymmetric"}}, 422},
      {kKeys, {{"name", "master"}, {"spec", "AES-256-GCM"}}, 422},        // reserved
      {kKeys + "/aes/encrypt", {{"data", "x"}, {"nonce", "0011"}}, 422},  // nonce not 12 bytes
      {kKeys + "/aes/encrypt", {{"data", "x"}, {"nonce", "zz"}}, 422},
      {kKeys + "/aes/encrypt", json::object(), 422},
      {kKeys + "/aes/encrypt", {{"data", "!!"}, {"encoding", "base64"}}, 422},
      {kKeys + "/aes/decrypt", {{"data", "00"}}, 422},
      {kKeys + "/aes/decrypt", {{"data", "xyz"}}, 422},
      {kKeys + "/aes/sign", {{"message", "00"}}, 422},   // wrong spec for the operation
      {kKeys + "/ed/encrypt", {{"data", "x"}}, 422},     // wrong spec for the operation
      {kKeys + "/ed/sign", {{"message", "0x0g"}}, 422},  // bad hex
      {kKeys + "/ed/sign", json::object(), 422},
      {kKeys + "/ed/verify", {{"message", "00"}}, 422},  // no signature
      {kKeys + "/rsa/sign", {{"message", "00"}}, 422},   // options.algorithm missing
      {kKeys + "/rsa/sign", {{"message", "00"}, {"options", {{"algorithm", "ES256"}}}}, 422},
      {kKeys + "/ed/derive", {{"name", "d"}, {"context", "c"}}, 422},
      {kKeys + "/aes/derive", {{"name", "d"}}, 422},  // no context
      {kKeys + "/nope/sign", {{"message", "00"}}, 404},
      {kKeys + "/master/decrypt", {{"data", std::string(64, '0')}}, 409},
      {"/api/v1/vaults/nope/keys", {{"name", "x"}, {"spec", "Ed25519"}}, 404},
  };
  for (const auto& b : bad) Post(b.path, b.body, b.status);
  // Oversize payloads: over the body limit (413), over the operation limit (422).
  EXPECT_EQ(
      Http("POST", kKeys + "/aes/encrypt", json({{"data", std::string(1100 * 1024, 'a')}}).dump())
          .status,
      413);
  Post(kKeys + "/aes/encrypt", {{"data", std::string(600 * 1024, 'a')}}, 422);
  auto r = Http("POST", kKeys + "/aes/encrypt", "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Http("DELETE", kKeys + "/master").status, 409);
  EXPECT_EQ(Http("GET", kKeys + "?spec=DES").status, 422);
  EXPECT_EQ(Http("GET", kKeys).body, before);  // nothing changed
}

TEST_F(KeysIt, ListShowDeleteAndEphemeral) {
  CreateKey("a", "aes-256-gcm");
  CreateKey("b", "Ed25519");
  json eph = CreateKey("c", "secp256k1", {{"ephemeral", true}});
  EXPECT_EQ(eph["ephemeral"], true);
  ASSERT_TRUE(eph.contains("private_key"));
  EXPECT_EQ(eph["private_key"].get<std::string>().size(), 66u);
  EXPECT_TRUE(eph["address"].get<std::string>().starts_with("0x"));
  auto list = Http("GET", kKeys);
  json keys = json::parse(list.body);
  ASSERT_EQ(keys.size(), 3u);  // master, a, b (the ephemeral key was never stored)
  EXPECT_EQ(keys[0]["name"], "master");
  EXPECT_EQ(list.headers["x-total-results-count"], "3");
  EXPECT_EQ(json::parse(Http("GET", kKeys + "?type=asymmetric").body).size(), 1u);
  EXPECT_EQ(json::parse(Http("GET", kKeys + "?spec=AES-256-GCM&rpp=1&page=2").body)[0]["name"],
            "a");
  json b = json::parse(Http("GET", kKeys + "/b").body);
  EXPECT_FALSE(b.contains("private_key"));
  EXPECT_FALSE(b.contains("seed"));
  EXPECT_EQ(Http("DELETE", kKeys + "/" + b["id"].get<std::string>()).status, 204);
  EXPECT_EQ(Http("GET", kKeys + "/b").status, 404);
  // The audit log names keys and operations, never data or private parts.
  std::string audit = ReadFile(dir_ / "data" / "audit.log");
  EXPECT_NE(audit.find("\"action\":\"key.create\""), std::string::npos);
  EXPECT_EQ(audit.find(eph["private_key"].get<std::string>().substr(2)), std::string::npos);
}

TEST_F(KeysIt, CliCoversEveryKeyCommand) {
  auto ok = [&](std::vector<std::string> args, const std::string& input = "") {
    auto r = Cli(std::move(args), input);
    EXPECT_EQ(r.code, 0) << r.err;
    return r;
  };
  EXPECT_NE(ok({"key", "create", "sym", "--spec", "aes-256-gcm"}).out.find("AES-256-GCM"),
            std::string::npos);
  ok({"key", "create", "ed", "--spec", "Ed25519", "--description", "signing"});
  ok({"key", "create", "rsa", "--spec", "RSA-2048"});
  auto list = ok({"key", "list"}).out;
  EXPECT_NE(list.find("master"), std::string::npos);
  EXPECT_NE(list.find("ed "), std::string::npos);
  EXPECT_NE(ok({"key", "show", "ed"}).out.find("public key:  0x"), std::string::npos);
  // encrypt from an argument, stdin and a file; decrypt prints the exact bytes.
  std::string ct = ok({"key", "encrypt", "sym", "hello", "--aad", "a"}).out;
  EXPECT_EQ(ok({"key", "decrypt", "sym", "--aad", "a"}, ct).out, "hello");
  std::string binary(
      "\x00\xff\x10"
      "bin",
      6);
  std::ofstream(dir_ / "in.bin", std::ios::binary) << binary;
  ct = ok({"key", "encrypt", "sym", "--file", (dir_ / "in.bin").string()}).out;
  EXPECT_EQ(ok({"key", "decrypt", "sym", ct.substr(0, ct.size() - 1)}).out, binary);
  auto wrong = Cli({"key", "decrypt", "sym", "--aad", "b"}, ct);
  EXPECT_EQ(wrong.code, 1);
  EXPECT_NE(wrong.err.find("decryption failed"), std::string::npos);
  // sign / verify, message from stdin.
  std::string sig = ok({"key", "sign", "ed"}, "message").out;
  sig.pop_back();
  EXPECT_EQ(ok({"key", "verify", "ed", "--signature", sig}, "message").out, "verified\n");
  auto bad = Cli({"key", "verify", "ed", "--signature", sig}, "massage");
  EXPECT_EQ(bad.code, 1);
  EXPECT_EQ(bad.out, "not verified\n");
  auto no_alg = Cli({"key", "sign", "rsa", "m"});
  EXPECT_EQ(no_alg.code, 1);
  EXPECT_NE(no_alg.err.find("--algorithm"), std::string::npos) << no_alg.err;  // the CLI's flag,
  EXPECT_EQ(no_alg.err.find("options.algorithm"), std::string::npos);          // not the API's
  std::string rsig = ok({"key", "sign", "rsa", "m", "--algorithm", "PS256"}).out;
  rsig.pop_back();
  ok({"key", "verify", "rsa", "m", "--algorithm", "PS256", "--signature", rsig});
  // derive, ephemeral, rm.
  ok({"key", "derive", "sym", "--name", "child", "--context", "tenant-1"});
  ct = ok({"key", "encrypt", "child", "x"}).out;
  EXPECT_EQ(ok({"key", "decrypt", "child"}, ct).out, "x");
  auto eph = ok({"key", "create", "tmp", "--spec", "secp256k1", "--ephemeral"});
  EXPECT_EQ(eph.out.size(), 67u);  // 0x + 64 hex + newline, alone on stdout
  EXPECT_NE(eph.err.find("not stored"), std::string::npos);
  ok({"key", "rm", "ed"});
  EXPECT_EQ(Cli({"key", "show", "ed"}).code, 1);
  EXPECT_EQ(Cli({"key", "create", "x", "--spec", "nope"}).code, 1);
  EXPECT_EQ(Cli({"key", "create", "x"}).code, 2);  // --spec is required
}

// BIP39 HD wallets through HTTP: import, xpub, atomic index advance, hdwallet options,
// identical signatures from two imports of one mnemonic, derive, and the refusals.
TEST_F(KeysIt, Bip39WalletsSignWithBip44Keys) {
  const std::string abandon =
      "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
      "about";
  const std::string digest = "a0dc65ffca799873cbea0ac274015b9526505daaaed385155425f7337704883e";
  json a = CreateKey("wallet-a", "bip39", {{"mnemonic", abandon}});
  json b = CreateKey("wallet-b", "BIP39", {{"mnemonic", abandon}});
  EXPECT_EQ(a["spec"], "BIP39");
  EXPECT_EQ(a["public_key"],
            "xpub661MyMwAqRbcFkPHucMnrGNzDwb6teAX1RbKQmqtEF8kK3Z7LZ59qafCjB9eCRLiTVG3uxBxgKvRgbubRh"
            "qSKXnGGb1aoaqLrpMBDrVxga8");
  EXPECT_FALSE(a.contains("mnemonic"));
  EXPECT_EQ(Http("GET", kKeys + "/wallet-a").body.find("abandon"), std::string::npos);

  // No options: index 0, then 1 (ETH by default); verify without options uses the last one.
  json s0 = Post(kKeys + "/wallet-a/sign", {{"message", digest}}, 201);
  EXPECT_EQ(s0["hd_derivation_path"], "m/44'/60'/0'/0/0");
  EXPECT_EQ(s0["address"], "0x9858EfFD232B4033E47d90003D41EC34EcaEda94");
  json s1 = Post(kKeys + "/wallet-a/sign", {{"message", digest}}, 201);
  EXPECT_EQ(s1["hd_derivation_path"], "m/44'/60'/0'/0/1");
  json v =
      Post(kKeys + "/wallet-a/verify", {{"message", digest}, {"signature", s1["signature"]}}, 200);
  EXPECT_EQ(v["verified"], true);
  EXPECT_EQ(v["hd_derivation_path"], "m/44'/60'/0'/0/1");
  EXPECT_EQ(Post(kKeys + "/wallet-a/verify", {{"message", digest}, {"signature", s0["signature"]}},
                 200)["verified"],
            false);  // index 0's signature, checked against index 1's key

  // The same path on both imports: identical signatures (RFC 6979) and addresses.
  json path_opts = {{"hdwallet", {{"hd_derivation_path", "m/44'/60'/2'/0/0"}}}};
  json sa = Post(kKeys + "/wallet-a/sign", {{"message", digest}, {"options", path_opts}}, 201);
  json sb = Post(kKeys + "/wallet-b/sign", {{"message", digest}, {"options", path_opts}}, 201);
  EXPECT_EQ(sa["signature"], sb["signature"]);
  EXPECT_EQ(sa["address"], sb["address"]);
  json parts_opts = {
      {"hdwallet", {{"coin_abbr", "ETH"}, {"account", 2}, {"change", 0}, {"index", 0}}}};
  EXPECT_EQ(Post(kKeys + "/wallet-b/sign", {{"message", digest}, {"options", parts_opts}},
                 201)["signature"],
            sa["signature"]);
  // Bitcoin: compressed public key, no Ethereum address.
  json btc =
      Post(kKeys + "/wallet-a/sign",
           {{"message", digest}, {"options", {{"hdwallet", {{"coin", 0}, {"index", 3}}}}}}, 201);
  EXPECT_EQ(btc["hd_derivation_path"], "m/44'/0'/0'/0/3");
  EXPECT_FALSE(btc.contains("address"));
  EXPECT_EQ(btc["public_key"].get<std::string>().size(), 2u + 66u);

  // noble verifies the wallet's signature with the derived key and recovers its address.
  json d = Post(kKeys + "/wallet-a/derive", {{"hd_derivation_path", "m/44'/60'/2'/0/0"}}, 201);
  EXPECT_EQ(d["address"], sa["address"]);
  EXPECT_EQ(d["xpub"].get<std::string>().substr(0, 4), "xpub");
  auto noble = Noble("check", json::array({{{"public_key", d["public_key"]},
                                            {"digest", digest},
                                            {"signature", sa["signature"]},
                                            {"address", d["address"]}}}));
  if (noble) {
    EXPECT_EQ((*noble)[0], json({{"verified", true}, {"recovered", true}, {"address", true}}));
  }

  // Refusals: both option forms, unsupported coin, a bad path, a non-digest message, a bad
  // mnemonic (named problem), mnemonic on another spec, detached verify with spec BIP39.
  json both = {{"hdwallet", {{"hd_derivation_path", "m/44'/60'/0'/0/0"}, {"coin", 60}}}};
  Post(kKeys + "/wallet-a/sign", {{"message", digest}, {"options", both}}, 422);
  Post(kKeys + "/wallet-a/sign", {{"message", digest}, {"options", {{"hdwallet", {{"coin", 2}}}}}},
       422);
  Post(kKeys + "/wallet-a/sign",
       {{"message", digest}, {"options", {{"hdwallet", {{"hd_derivation_path", "m/0/1"}}}}}}, 422);
  Post(kKeys + "/wallet-a/sign", {{"message", "00"}}, 422);
  json bad =
      Post(kKeys, {{"name", "w3"}, {"spec", "BIP39"}, {"mnemonic", abandon + " abandon"}}, 422);
  EXPECT_NE(bad.dump().find("mnemonic"), std::string::npos) << bad.dump();
  Post(kKeys, {{"name", "w4"}, {"spec", "Ed25519"}, {"mnemonic", abandon}}, 422);
  Post("/api/v1/verify",
       {{"spec", "BIP39"}, {"message", digest}, {"signature", "00"}, {"public_key", "xpub"}}, 422);
  // A fresh wallet has no last index to verify with.
  CreateKey("fresh", "BIP39");
  Post(kKeys + "/fresh/verify", {{"message", digest}, {"signature", s0["signature"]}}, 422);
  // An ephemeral wallet shows its mnemonic once and is not stored.
  json eph = CreateKey("eph", "BIP39", {{"ephemeral", true}});
  const std::string words = eph.value("mnemonic", "");
  EXPECT_EQ(std::count(words.begin(), words.end(), ' '), 23);
  EXPECT_EQ(Http("GET", kKeys + "/eph").status, 404);
}

// The CLI side of HD wallets: import from stdin, sign with and without a path, verify, derive.
TEST_F(KeysIt, CliHdWallet) {
  auto ok = [&](std::vector<std::string> args, const std::string& input = "") {
    auto r = Cli(std::move(args), input);
    EXPECT_EQ(r.code, 0) << r.err;
    return r;
  };
  const std::string abandon =
      "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
      "about\n";
  auto created = ok({"key", "create", "w", "--spec", "BIP39", "--mnemonic-file", "-"}, abandon);
  EXPECT_NE(created.out.find("public key:  xpub661MyMwAqRbcFkPHucMn"), std::string::npos);
  EXPECT_EQ(created.out.find("abandon"), std::string::npos);
  const std::string digest(64, 'b');
  auto sig = ok({"key", "sign", "w", "--hex", digest});
  EXPECT_NE(
      sig.err.find("path m/44'/60'/0'/0/0 address 0x9858EfFD232B4033E47d90003D41EC34EcaEda94"),
      std::string::npos)
      << sig.err;
  std::string signature = sig.out.substr(0, sig.out.size() - 1);
  ok({"key", "verify", "w", "--hex", digest, "--signature", signature});
  auto other = Cli({"key", "verify", "w", "--hex", digest, "--signature", signature, "--hd-path",
                    "m/44'/60'/0'/0/5"});
  EXPECT_EQ(other.code, 1);
  auto derived = ok({"key", "derive", "w", "--hd-path", "m/44'/60'/0'/0/0"});
  EXPECT_NE(derived.out.find("address:     0x9858EfFD232B4033E47d90003D41EC34EcaEda94"),
            std::string::npos);
  auto bad = Cli({"key", "create", "w2", "--spec", "BIP39", "--mnemonic-file", "-"}, "abandon\n");
  EXPECT_EQ(bad.code, 1) << bad.err;
}

// Concurrent signers without options never share an index.
TEST_F(KeysIt, Bip39ConcurrentSignersGetDistinctIndices) {
  CreateKey("w", "BIP39");
  const std::string digest(64, 'a');
  std::mutex mu;
  std::set<std::string> paths;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        auto r = Http("POST", kKeys + "/w/sign", json{{"message", digest}}.dump());
        auto j = json::parse(r.body, nullptr, false);
        std::lock_guard lock(mu);
        if (r.status == 201) paths.insert(j["hd_derivation_path"].get<std::string>());
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(paths.size(), 20u);
  EXPECT_TRUE(paths.count("m/44'/60'/0'/0/19"));
}

// Baby Jubjub EdDSA-Poseidon through sirrd, checked with circomlibjs (iden3's implementation):
// an ephemeral key's private key signed by circomlibjs gives the same public key and signature
// (the scheme is deterministic); sirrd's signatures verify there; circomlibjs's verify here.
TEST_F(KeysIt, BabyJubJubAgreesWithCircomlibjs) {
  // iden3's message (bytes 00 01 .. 09 00 00 little-endian) as a big-endian field element.
  const std::string message = "0x" + std::string(44, '0') + "09080706050403020100";
  json eph = CreateKey("bj-e", "babyJubJub", {{"ephemeral", true}});
  ASSERT_TRUE(eph.contains("private_key")) << eph.dump();
  EXPECT_EQ(eph["spec"], "babyJubJub");
  json key = CreateKey("bj", "babyJubJub");
  const std::string pub = key["public_key"];
  ASSERT_EQ(pub.size(), 66u) << key.dump();
  json sig = Post(kKeys + "/bj/sign", {{"message", message}}, 201);
  const std::string signature = sig["signature"];
  ASSERT_EQ(signature.size(), 128u);
  EXPECT_EQ(
      Post(kKeys + "/bj/verify", {{"message", message}, {"signature", signature}}, 200)["verified"],
      true);
  EXPECT_EQ(
      Post(kKeys + "/bj/verify", {{"message", "0x01"}, {"signature", signature}}, 200)["verified"],
      false);
  json detached{
      {"spec", "babyJubJub"}, {"message", message}, {"signature", signature}, {"public_key", pub}};
  EXPECT_EQ(Post("/api/v1/verify", detached, 200)["verified"], true);
  // Not a field element (p itself; 33 bytes) → 422; a public key that is not a point → 422.
  const std::string p = "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";
  json err = Post(kKeys + "/bj/sign", {{"message", p}}, 422);
  EXPECT_NE(err.dump().find("below p"), std::string::npos) << err.dump();
  Post(kKeys + "/bj/sign", {{"message", "00" + p.substr(2)}}, 422);
  Post(kKeys + "/bj/verify", {{"message", p}, {"signature", signature}}, 422);
  detached["public_key"] =
      "0x010000f093f5e1439170b97948e833285d588181b64550b829a031e1724e6430";  // y = p
  Post("/api/v1/verify", detached, 422);

  fs::path dir = SIRR_NODE_ORACLE_DIR;
  if (access("/usr/bin/node", X_OK) != 0 || !fs::exists(dir / "node_modules/circomlibjs"))
    GTEST_SKIP() << "circomlibjs is not installed (scripts/install-oracles.sh)";
  fs::copy_file(SIRR_ORACLE_DIR "/babyjub_circom.mjs", dir / "babyjub_circom.mjs",
                fs::copy_options::overwrite_existing);
  auto node = [&](const std::string& op, const json& items) {
    auto r =
        Exec({"/usr/bin/node", (dir / "babyjub_circom.mjs").string(), op}, {}, items.dump(), dir_);
    EXPECT_EQ(r.code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  };
  // circomlibjs verifies sirrd's signature and refuses it for another message.
  json verdicts =
      node("verify",
           json::array(
               {{{"public_key", pub.substr(2)}, {"message", message}, {"signature", signature}},
                {{"public_key", pub.substr(2)}, {"message", "0x01"}, {"signature", signature}}}));
  EXPECT_EQ(verdicts, json::array({true, false}));
  // The ephemeral key: sirrd signs (detached verify needs no stored key) the same as circomlibjs.
  const std::string prv = eph["private_key"].get<std::string>().substr(2);
  json theirs = node("sign", json::array({{{"private_key", prv}, {"message", message}}}));
  EXPECT_EQ("0x" + theirs[0]["public_key"].get<std::string>(), eph["public_key"]);
  json by_them{{"spec", "babyJubJub"},
               {"message", message},
               {"signature", theirs[0]["signature"]},
               {"public_key", eph["public_key"]}};
  EXPECT_EQ(Post("/api/v1/verify", by_them, 200)["verified"], true);
  // And iden3's published signature for its key verifies through sirrd.
  json iden3{
      {"spec", "babyJubJub"},
      {"message", message},
      {"signature",
       "dfedb4315d3f2eb4de2d3c510d7a987dcab67089c8ace06308827bf5bcbe02a2"
       "9d043ece562a8f82bfc0adb640c0107a7d3a27c1c7c1a6179a0da73de5c1b203"},
      {"public_key", "0x" + node("sign", json::array({{{"private_key",
                                                        "000102030405060708090001020304050"
                                                        "6070809000102030405060708090001"},
                                                       {"message", message}}}))[0]["public_key"]
                                .get<std::string>()}};
  EXPECT_EQ(Post("/api/v1/verify", iden3, 200)["verified"], true);
}

TEST_F(KeysIt, CliBabyJubJub) {
  auto created = Cli({"key", "create", "bj", "--spec", "babyJubJub"});
  ASSERT_EQ(created.code, 0) << created.err;
  auto sig = Cli({"key", "sign", "bj", "--hex", "0x2a"});
  ASSERT_EQ(sig.code, 0) << sig.err;
  std::string signature = sig.out.substr(0, sig.out.size() - 1);
  EXPECT_EQ(signature.size(), 128u);
  EXPECT_EQ(Cli({"key", "verify", "bj", "--hex", "0x2a", "--signature", signature}).code, 0);
  EXPECT_EQ(Cli({"key", "verify", "bj", "--hex", "0x2b", "--signature", signature}).code, 1);
  auto bad = Cli({"key", "sign", "bj", "--hex",
                  "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001"});
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("below p"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace sirr_it

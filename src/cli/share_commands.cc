// sirr share: a one-time share link. The value is encrypted here with a fresh key that goes
// only into the link's fragment (format: src/crypto/share_link.h); the server stores the
// ciphertext and a hash of the reveal proof.

#include "base/encoding.h"
#include "cli/commands.h"
#include "crypto/crypto.h"
#include "crypto/share_link.h"

namespace sirr::cli {
namespace {

class Share final : public Command {
 public:
  explicit Share(CLI::App& app) {
    share_ = app.add_subcommand(
        "share",
        "Make a one-time link to a value: encrypted here, the key only in the link's '#' part");
    value_ = share_->add_option("--value", value_text_,
                                "The value (lands in shell history: prefer the prompt or --file)");
    file_ = share_->add_option("--file", file_path_, "Read the value from this file");
    value_->excludes(file_);
    share_->add_option("--ttl", ttl_, "The link expires after this long (default 24h; at most 30d)")
        ->capture_default_str();
    share_->add_option("--reads", reads_, "How many times the link opens (default 1)")
        ->check(CLI::Range(1, 100));
    Examples(share_, {"sirr share --file id_ed25519        # prints https://…/s/<id>#<key>",
                      "printf %s \"$PASSWORD\" | sirr share --ttl 1h",
                      "sirr pull --share 'https://…/s/<id>#<key>'   # reveal in a terminal"});
  }

  bool parsed() const override { return share_->parsed(); }

  int Run(Session& s) override {
    SecretBytes value;
    if (*file_) {
      auto v = ReadFileSecret(file_path_, "--file");
      if (!v.ok()) return s.Usage(v.status().message());
      value = std::move(*v);
    } else if (*value_) {
      value = SecretBytes::FromString(value_text_);
      SecureWipe(value_text_.data(), value_text_.size());
    } else if (s.io().in_tty) {
      auto v = s.io().read_hidden("Value to share (not echoed): ");
      if (!v.ok()) return s.Usage(v.status().message());
      value = std::move(*v);
    } else {
      auto v = ReadAll(s.io().in);
      if (!v.ok()) return s.Usage(v.status().message());
      value = std::move(*v);
    }
    if (value.empty())
      return s.Usage(
          "no value: give --value V, --file F, pipe it on stdin, or type it at the "
          "prompt");
    auto ttl = ParseDuration(ttl_, "--ttl");
    if (!ttl.ok()) return s.Usage(ttl.status().message());

    auto& random = crypto::SecureRandom::Get();
    SecretBytes key = crypto::share::NewLinkKey(random);
    auto blob = crypto::share::Seal(key, value.reveal(), random);
    if (!blob.ok()) return s.Fail(kExitServer, blob.status().message());
    json body{{"ciphertext", Base64Encode(*blob)},
              {"proof_hash", HexEncode(crypto::share::ProofHash(key))},
              {"ttl_seconds", *ttl},
              {"max_reads", reads_}};
    client::HttpResponse r;
    if (auto rc = s.Expect("POST", "/api/v1/shares", 201, &r, body.dump())) return *rc;
    auto meta = json::parse(r.body, nullptr, false);
    if (!meta.is_object() || !meta.contains("id"))
      return s.Fail(kExitServer, "unexpected response from the server");
    std::string base = meta.contains("url") && meta["url"].is_string()
                           ? meta["url"].get<std::string>()
                           : s.settings().server + "/s/" + meta["id"].get<std::string>();
    SecretBytes link = SecretBytes::FromString(base + "#");
    std::string fragment = Base64Encode(key.reveal(), Base64Alphabet::kUrlSafe);
    link.Append(AsBytes(fragment));
    SecureWipe(fragment.data(), fragment.size());
    if (s.json_output()) {
      meta["link"] = std::string(link.reveal_string());
      s.PrintJson(meta);
      auto& l = meta["link"].get_ref<std::string&>();
      SecureWipe(l.data(), l.size());
      return 0;
    }
    s.io().out.write(link.reveal_string().data(), static_cast<std::streamsize>(link.size()));
    s.io().out << "\n";
    s.io().out.flush();
    s.Err(
        "Opens %lld time(s), until %s. Anyone with the whole link can open it; send it over a "
        "channel you trust.\n",
        static_cast<long long>(reads_), Text(meta.value("expires_at", json())).c_str());
    return 0;
  }

 private:
  CLI::App* share_;
  CLI::Option *value_, *file_;
  std::string value_text_, file_path_, ttl_ = "24h";
  int64_t reads_ = 1;
};

}  // namespace

std::unique_ptr<Command> ShareCommand(CLI::App& app) { return std::make_unique<Share>(app); }

}  // namespace sirr::cli

// sirr push | pull | rm | inspect | list: secrets in the selected vault.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <istream>

#include "base/encoding.h"
#include "cli/commands.h"
#include "crypto/crypto.h"
#include "crypto/share_link.h"

namespace sirr::cli {
namespace {

std::string SecretPath(const Session& s, const std::string& name = "") {
  return VaultPath(s.settings().vault, "/secrets") + (name.empty() ? "" : "/" + Enc(name));
}

class Secrets final : public Command {
 public:
  explicit Secrets(CLI::App& app) {
    push_ = app.add_subcommand("push", "Store a secret");
    push_->add_option("NAME", name_, "Secret name, e.g. db/prod")->required();
    value_ = push_->add_option(
        "--value", value_text_,
        "The value, or - for stdin. Lands in shell history: prefer the prompt or --file");
    file_ = push_->add_option("--file", file_path_, "Read the value from this file");
    value_->excludes(file_);
    push_->add_option("--ttl", ttl_, "Expire after this long: 90, 90s, 15m, 2h, 7d");
    push_->add_option("--reads", reads_, "Burn after this many reads")->check(AtLeastOne());
    push_->add_option("--type", type_, "Free-form type label");
    push_->add_option("--description", description_, "Description (not secret)");
    push_->add_flag("--overwrite", overwrite_, "Replace a live secret of the same name");
    push_
        ->add_option("-r,--recipient", recipients_,
                     "Encrypt here with age for this age1… recipient (repeatable): the server "
                     "stores only the age file")
        ->allow_extra_args(false);
    push_
        ->add_option("-R,--recipients-file", recipient_files_,
                     "Encrypt with age for the recipients in this file (repeatable)")
        ->allow_extra_args(false);
    push_->add_flag("--passphrase", passphrase_,
                    "Encrypt here with age and a passphrase (read without echo)");
    push_->add_option("--passphrase-file", passphrase_file_,
                      "Encrypt with age and the passphrase in this file's first line");
    push_->add_option("--content-type", content_type_,
                      "What the value is, e.g. application/age for an age file made elsewhere");
    Examples(push_, {"sirr push db/prod                       # prompts for the value, not echoed",
                     "sirr push api/key --file key.pem --ttl 1h --reads 1",
                     "printf %s \"$VALUE\" | sirr push ci/token --value -",
                     "sirr push tls/key --file key.pem -r age1…   # the server never sees it"});

    pull_ = app.add_subcommand("pull",
                               "Print a secret's value exactly (no added newline); counts a read");
    pull_->add_option("NAME", name_, "Secret name or id");
    pull_
        ->add_option("-i,--identity", identity_files_,
                     "age identity file to decrypt an age secret here (repeatable; default: "
                     "$SIRR_AGE_IDENTITY)")
        ->allow_extra_args(false);
    pull_->add_flag("--passphrase", pull_passphrase_,
                    "Decrypt an age secret with a passphrase (read without echo)");
    pull_->add_option("--passphrase-file", pull_passphrase_file_,
                      "Decrypt an age secret with the passphrase in this file's first line");
    pull_->add_flag("--raw", raw_, "Print an age secret's ciphertext as stored (no decryption)");
    pull_->add_option("--share", share_url_,
                      "Reveal a share link (https://SERVER/s/ID#KEY) here; no token needed");
    Examples(pull_, {"sirr pull db/prod", "export DB_URL=\"$(sirr pull db/prod)\"",
                     "sirr --json pull db/prod   # value and metadata as JSON",
                     "sirr pull tls/key -i ~/.config/sirr/age.key > key.pem",
                     "sirr pull --share 'https://vault.example.com/s/…#…'"});
    rm_ = app.add_subcommand("rm", "Delete a secret");
    rm_->add_option("NAME", name_, "Secret name or id")->required();
    Examples(rm_, {"sirr rm db/prod"});
    inspect_ = app.add_subcommand("inspect", "Show a secret's metadata without using up a read");
    inspect_->add_option("NAME", name_, "Secret name or id")->required();
    Examples(inspect_, {"sirr inspect db/prod", "sirr --json inspect db/prod"});
    list_ = app.add_subcommand("list", "List live secrets (metadata only, never values)");
    list_->add_option("--prefix", prefix_, "Only names starting with this");
    list_->add_option("--type", type_, "Only this type");
    Examples(list_, {"sirr list", "sirr list --prefix db/ --json"});
  }

  bool parsed() const override {
    return push_->parsed() || pull_->parsed() || rm_->parsed() || inspect_->parsed() ||
           list_->parsed();
  }

  int Run(Session& s) override {
    if (push_->parsed()) return Push(s);
    if (pull_->parsed()) {
      if (!share_url_.empty()) {
        if (!name_.empty()) return s.Usage("give either NAME or --share URL, not both");
        return PullShare(s);
      }
      if (name_.empty()) return s.Usage("NAME is required (or --share URL)");
      return Pull(s);
    }
    if (rm_->parsed()) return Remove(s);
    if (inspect_->parsed()) return Inspect(s);
    return List(s);
  }

 private:
  // The value: --file, --value (- for stdin), else the no-echo prompt on a terminal, else stdin.
  StatusOr<SecretBytes> Value(Session& s) {
    if (*file_) return ReadFileSecret(file_path_, "--file");
    if (*value_ && value_text_ != "-") {
      SecretBytes v = SecretBytes::FromString(value_text_);
      SecureWipe(value_text_.data(), value_text_.size());
      return v;
    }
    if (!*value_ && s.io().in_tty) {
      SIRR_ASSIGN_OR_RETURN(SecretBytes v,
                            s.io().read_hidden("Value for " + name_ + " (not echoed): "));
      if (v.empty()) return InvalidArgumentError("no value given");
      return v;
    }
    SIRR_ASSIGN_OR_RETURN(SecretBytes piped, ReadAll(s.io().in));
    if (!*value_ && piped.empty())
      return InvalidArgumentError(
          "no value: type it at the prompt (on a terminal), pipe it on stdin, or give --file F "
          "or --value V");
    return piped;
  }

  bool AgePush() const {
    return !recipients_.empty() || !recipient_files_.empty() || passphrase_ ||
           !passphrase_file_.empty();
  }

  // The value encrypted with age as it is read (a file or stdin in 64 KiB pieces): the
  // plaintext is never held whole, only the age file is.
  StatusOr<Bytes> AgeValue(Session& s) {
    namespace age = crypto::age;
    const bool with_pass = passphrase_ || !passphrase_file_.empty();
    if (with_pass && (!recipients_.empty() || !recipient_files_.empty()))
      return InvalidArgumentError(
          "a passphrase cannot be combined with recipients (age allows "
          "only one scrypt stanza, alone)");
    Bytes out;
    auto sink = [&out](std::span<const uint8_t> b) { out.insert(out.end(), b.begin(), b.end()); };
    StatusOr<std::unique_ptr<age::Encryptor>> enc = InvalidArgumentError("");
    if (with_pass) {
      SIRR_ASSIGN_OR_RETURN(SecretBytes pw, ReadPassphrase(s, passphrase_file_, true));
      enc = age::Encryptor::ForPassphrase(pw, age::kDefaultScryptLogN, false,
                                          crypto::SecureRandom::Get(), sink);
    } else {
      SIRR_ASSIGN_OR_RETURN(auto to, LoadRecipients(recipients_, recipient_files_));
      enc = age::Encryptor::ForRecipients(to, false, crypto::SecureRandom::Get(), sink);
    }
    SIRR_RETURN_IF_ERROR(enc.status());
    size_t total = 0;
    auto write = [&](std::span<const uint8_t> b) {
      total += b.size();
      return (*enc)->Write(b);
    };
    if (*file_) {
      SIRR_RETURN_IF_ERROR(StreamInput(s, file_path_, "--file", write));
    } else if ((*value_ && value_text_ != "-") || (!*value_ && s.io().in_tty)) {
      SIRR_ASSIGN_OR_RETURN(SecretBytes v, Value(s));
      SIRR_RETURN_IF_ERROR(write(v.reveal()));
    } else {
      SIRR_RETURN_IF_ERROR(StreamInput(s, "", "stdin", write));
    }
    if (total == 0) return InvalidArgumentError("no value given (the input is empty)");
    SIRR_RETURN_IF_ERROR((*enc)->Close());
    return out;
  }

  int Push(Session& s) {
    json body;
    body["name"] = name_;
    if (AgePush()) {
      if (!content_type_.empty() && content_type_ != kAgeContentType)
        return s.Usage("--content-type cannot be combined with age encryption (it is " +
                       std::string(kAgeContentType) + ")");
      auto ciphertext = AgeValue(s);
      if (!ciphertext.ok()) return s.Usage(ciphertext.status().message());
      body["value"] = Base64Encode(*ciphertext);
      body["content_type"] = kAgeContentType;
    } else {
      auto value = Value(s);
      if (!value.ok()) return s.Usage(value.status().message());
      // Sent base64-encoded, so binary values travel unchanged.
      std::string encoded = Base64Encode(value->reveal());
      body["value"] = encoded;
      SecureWipe(encoded.data(), encoded.size());
      if (!content_type_.empty()) body["content_type"] = content_type_;
    }
    body["encoding"] = "base64";
    if (!ttl_.empty()) {
      auto ttl = ParseDuration(ttl_, "--ttl");
      if (!ttl.ok()) return s.Usage(ttl.status().message());
      body["ttl_seconds"] = *ttl;
    }
    if (reads_ > 0) body["max_reads"] = reads_;
    if (!type_.empty()) body["type"] = type_;
    if (!description_.empty()) body["description"] = description_;
    std::string payload = body.dump();
    auto& v = body["value"].get_ref<std::string&>();
    SecureWipe(v.data(), v.size());
    client::HttpResponse r;
    auto rc =
        s.Expect("POST", SecretPath(s) + (overwrite_ ? "?overwrite=true" : ""), 201, &r, payload);
    SecureWipe(payload.data(), payload.size());
    if (rc) return *rc;
    auto meta = json::parse(r.body, nullptr, false);
    if (s.json_output()) return s.PrintJson(meta), 0;
    s.Out("pushed %s%s (id %s, expires %s, reads left %s)\n", name_.c_str(),
          AgePush() ? " (age-encrypted here; the server holds only the age file)" : "",
          Text(meta.value("id", json())).c_str(),
          Text(meta.value("expires_at", json()), "never").c_str(),
          Text(meta.value("reads_remaining", json()), "unlimited").c_str());
    return 0;
  }

  // A burned age secret that could not be decrypted: its ciphertext is kept in a new file, so
  // the one read it had is not lost with it.
  std::string SaveCiphertext(const std::string& id, std::span<const uint8_t> ct) {
    std::string safe;
    for (char c : id) safe.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '-');
    const std::string path = "sirr-" + safe + ".age";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return "";
    bool ok =
        ::write(fd, ct.data(), ct.size()) == static_cast<ssize_t>(ct.size()) && ::fsync(fd) == 0;
    ::close(fd);
    return ok ? path : "";
  }

  int PullShare(Session& s) {
    auto link = crypto::share::ParseLink(share_url_);
    if (!link.ok()) return s.Usage(link.status().message());
    const auto proof = crypto::share::Proof(link->key);
    json body{{"proof", Base64Encode(proof, Base64Alphabet::kUrlSafe)}};
    auto r = s.CallServer(link->server, "POST", "/api/v1/shares/" + Enc(link->id) + "/reveal",
                          body.dump());
    if (!r.ok()) return s.Fail(kExitServer, r.status().message());
    if (r->status == 404) return s.Fail(kExitRefused, "this link is no longer available");
    if (r->status != 200) return s.Refused(*r);
    auto j = json::parse(r->body, nullptr, false);
    if (!j.is_object() || !j.contains("ciphertext") || !j["ciphertext"].is_string())
      return s.Fail(kExitServer, "unexpected response from the server");
    auto blob = Base64Decode(j["ciphertext"].get<std::string>());
    if (!blob.ok()) return s.Fail(kExitServer, "unexpected response from the server");
    auto plain = crypto::share::Open(link->key, *blob);
    if (!plain.ok())
      return s.Fail(kExitRefused, std::string(plain.status().message()) +
                                      " (the link is damaged; it is now used up)");
    s.io().out.write(reinterpret_cast<const char*>(plain->reveal().data()),
                     static_cast<std::streamsize>(plain->size()));
    s.io().out.flush();
    return 0;
  }

  int Pull(Session& s) {
    auto ids = LoadIdentities(s, identity_files_, pull_passphrase_, pull_passphrase_file_);
    if (!ids.ok()) return s.Usage(ids.status().message());
    const bool can_open = !ids->x25519.empty() || ids->passphrase.has_value();
    // Without a way to open an age payload, the server is asked not to count a read of one.
    std::string query;
    if (!can_open && !raw_ && !s.json_output())
      query = "?unless_content_type=" + Enc(kAgeContentType);
    auto resp = s.Call("GET", SecretPath(s, name_) + query);
    if (!resp.ok()) return s.Fail(kExitServer, resp.status().message());
    client::HttpResponse& r = *resp;
    if (r.status == 409 && !query.empty())
      return s.Fail(kExitUsage,
                    "secret '" + name_ +
                        "' is age-encrypted (content type application/age): give -i "
                        "IDENTITY_FILE (or set SIRR_AGE_IDENTITY) or --passphrase to decrypt it "
                        "here, or --raw for the age file as stored. Nothing was read.");
    if (r.status != 200) return s.Refused(r);
    auto j = json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j.contains("value") || !j["value"].is_string())
      return s.Fail(kExitServer, "unexpected response from the server");
    std::string& v = j["value"].get_ref<std::string&>();
    int rc = 0;
    const bool is_age = j.value("content_type", json()).is_string() &&
                        j["content_type"].get<std::string>() == kAgeContentType;
    if (is_age && !raw_ && !s.json_output()) {
      // The server returns text values as text (an armored age file) and others as base64.
      auto ct = j.value("encoding", "") == "base64" ? Base64Decode(v)
                                                    : StatusOr<Bytes>(Bytes(v.begin(), v.end()));
      if (!ct.ok()) return s.Fail(kExitServer, "unexpected response from the server");
      if (!can_open)  // a server without unless_content_type support: nothing else to do
        return s.Fail(kExitUsage,
                      "secret '" + name_ + "' is age-encrypted: give -i or --passphrase");
      Status st = crypto::age::Decrypt(*ct, *ids, [&s](std::span<const uint8_t> b) {
        s.io().out.write(reinterpret_cast<const char*>(b.data()),
                         static_cast<std::streamsize>(b.size()));
      });
      s.io().out.flush();
      if (!st.ok()) {
        std::string message(st.message());
        if (j.value("state", "") == "burned" || j.value("reads_remaining", json()) == json(0)) {
          std::string saved = SaveCiphertext(j.value("id", "secret"), *ct);
          message += saved.empty()
                         ? "; this read burned the secret and its ciphertext could not be saved"
                         : "; this read burned the secret: its age file is saved in " + saved +
                               " (sirr age decrypt -i KEY " + saved + ")";
        }
        return s.Fail(kExitRefused, message);
      }
      return 0;
    }
    if (s.json_output()) {
      s.PrintJson(j);
    } else if (j.value("encoding", "") == "base64") {
      auto bytes = Base64DecodeSecret(v);
      if (!bytes.ok())
        rc = s.Fail(kExitServer, "unexpected response from the server");
      else
        s.io().out.write(reinterpret_cast<const char*>(bytes->reveal().data()),
                         static_cast<std::streamsize>(bytes->size()));
    } else {
      s.io().out.write(v.data(), static_cast<std::streamsize>(v.size()));
    }
    SecureWipe(v.data(), v.size());
    s.io().out.flush();
    return rc;
  }

  int Remove(Session& s) {
    client::HttpResponse r;
    if (auto rc = s.Expect("DELETE", SecretPath(s, name_), 204, &r)) return *rc;
    if (s.json_output()) return s.PrintJson(json{{"name", name_}, {"deleted", true}}), 0;
    s.Out("deleted %s\n", name_.c_str());
    return 0;
  }

  int Inspect(Session& s) {
    auto r = s.Call("HEAD", SecretPath(s, name_));
    if (!r.ok()) return s.Fail(kExitServer, r.status().message());
    if (r->status == 404)
      return s.Fail(kExitRefused,
                    "secret '" + name_ + "' not found in vault '" + s.settings().vault + "'");
    if (r->status != 200 && r->status != 410) {
      r->body = json{{"message", "HTTP " + std::to_string(r->status)}}.dump();  // HEAD: no body
      return s.Refused(*r);
    }
    auto h = [&](const char* k) -> json {
      auto it = r->headers.find(k);
      return it == r->headers.end() ? json(nullptr) : json(it->second);
    };
    auto number = [&](const char* k) -> json {
      json v = h(k);
      return v.is_null() ? v : json(std::atoll(v.get<std::string>().c_str()));
    };
    json j{{"id", h("x-secret-id")},
           {"created_at", h("x-secret-created-at")},
           {"vault_id", h("x-secret-vault-id")},
           {"type", h("x-secret-type")},
           {"name", h("x-secret-name")},
           {"description", h("x-secret-description")},
           {"content_type", h("x-secret-content-type")},
           {"expires_at", h("x-secret-expires-at")},
           {"max_reads", number("x-secret-max-reads")},
           {"reads_remaining", number("x-secret-reads-remaining")},
           {"state", h("x-secret-state")}};
    if (s.json_output()) {
      s.PrintJson(j);
    } else {
      s.Out(
          "name:        %s\nid:          %s\nvault:       %s\ntype:        %s\n"
          "description: %s\ncontent:     %s\nstate:       %s\ncreated:     %s\n"
          "expires:     %s\nmax reads:   %s\nreads left:  %s\n",
          Text(j["name"]).c_str(), Text(j["id"]).c_str(), Text(j["vault_id"]).c_str(),
          Text(j["type"]).c_str(), Text(j["description"]).c_str(),
          Text(j["content_type"], "plain").c_str(), Text(j["state"]).c_str(),
          Text(j["created_at"]).c_str(), Text(j["expires_at"], "never").c_str(),
          Text(j["max_reads"], "unlimited").c_str(),
          Text(j["reads_remaining"], "unlimited").c_str());
    }
    return r->status == 200 ? 0 : kExitRefused;
  }

  int List(Session& s) {
    json all = json::array();
    std::string q;
    if (!prefix_.empty()) q += "&prefix=" + Enc(prefix_);
    if (!type_.empty()) q += "&type=" + Enc(type_);
    if (auto rc = s.FetchAll(SecretPath(s), q, &all)) return *rc;
    if (s.json_output()) return s.PrintJson(all), 0;
    s.Out("%-40s %-24s %-24s %-10s %s\n", "NAME", "CREATED", "EXPIRES", "READS LEFT", "CONTENT");
    for (auto& e : all)
      s.Out("%-40s %-24s %-24s %-10s %s\n", Text(e.value("name", json())).c_str(),
            Text(e.value("created_at", json())).c_str(),
            Text(e.value("expires_at", json()), "never").c_str(),
            Text(e.value("reads_remaining", json()), "unlimited").c_str(),
            Text(e.value("content_type", json()), "plain").c_str());
    return 0;
  }

  CLI::App *push_, *pull_, *rm_, *inspect_, *list_;
  CLI::Option *value_, *file_;
  std::string name_, value_text_, file_path_, ttl_, type_, description_, prefix_;
  int64_t reads_ = 0;
  bool overwrite_ = false;
  // age (push: recipients or a passphrase; pull: identities or a passphrase).
  std::vector<std::string> recipients_, recipient_files_, identity_files_;
  bool passphrase_ = false, pull_passphrase_ = false, raw_ = false;
  std::string passphrase_file_, pull_passphrase_file_, content_type_, share_url_;
};

}  // namespace

std::unique_ptr<Command> SecretCommands(CLI::App& app) { return std::make_unique<Secrets>(app); }

}  // namespace sirr::cli

// sirr operator keygen | unseal | seal | rotate | backup | shamir split | shamir combine.
// keygen and shamir run locally (no server); the rest are admin routes or the unseal route.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "base/encoding.h"
#include "cli/commands.h"
#include "crypto/crypto.h"
#include "crypto/hd/bip39.h"
#include "seal/master_key.h"
#include "seal/shamir.h"

namespace sirr::cli {

std::string WriteKeyFile(const std::string& path, const SecretBytes& key) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
  if (fd < 0)
    return "cannot create " + path + ": " + std::strerror(errno) +
           " (an existing key file is never overwritten)";
  std::string text = Base64Encode(key.reveal()) + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  SecureWipe(text.data(), text.size());
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return "cannot write " + path;
  }
  return "";
}

namespace {

class Operator final : public Command {
 public:
  explicit Operator(CLI::App& app) {
    root_ = app.add_subcommand("operator",
                               "Operator commands: keygen, unseal, seal, shamir, rotate, backup");
    root_->require_subcommand(1);
    keygen_ = root_->add_subcommand(
        "keygen",
        "Generate a new master key locally: prints its 24-word mnemonic and validation hash "
        "once; with --out also writes the base64 key file (mode 0400)");
    keygen_->add_option("--out", out_, "Write the key file here (never overwrites)");
    Examples(keygen_, {"sirr operator keygen --out /etc/sirr/master.key"});
    unseal_ = root_->add_subcommand(
        "unseal",
        "Unseal the server with the master key: the 24 words read from the terminal without "
        "echo, or from stdin when piped, or --key-file. Base64 and hex spellings are turned "
        "into the mnemonic locally. No token needed.");
    unseal_->add_option("--key-file", in_, "Read the key from this file (base64, hex or 24 words)");
    Examples(unseal_, {"sirr operator unseal            # prompts, not echoed",
                       "sirr operator unseal --key-file /run/secrets/sirr_master_key"});
    seal_ = root_->add_subcommand("seal", "Seal the server now (admin token): wipes every key");
    Examples(seal_, {"sirr operator seal"});
    rotate_ = root_->add_subcommand(
        "rotate",
        "Rewrap every vault key under the new master key (sirrd started with SIRR_KEY_FILE and "
        "SIRR_KEY_FILE_NEW; admin token); shows progress until done");
    rotate_->add_flag("--no-wait", no_wait_, "Start the rotation and return at once");
    Examples(rotate_, {"sirr operator rotate", "sirr operator rotate --no-wait"});
    backup_ = root_->add_subcommand(
        "backup",
        "Take a consistent online snapshot of the server's database (admin token) into FILE "
        "(mode 0600, never overwritten); prints its SHA-256. It holds no plaintext secrets; the "
        "master key is NOT in it: back the key up separately and store it apart.");
    backup_->add_option("FILE", out_, "Where to write the backup")->required();
    Examples(backup_, {"sirr operator backup /backups/sirr-$(date +%F).db"});
    shamir_ = root_->add_subcommand(
        "shamir",
        "Split the master key into shares for custodians, or rebuild it (local; share-compatible "
        "with Debian's ssss-split/ssss-combine in hex mode)");
    shamir_->require_subcommand(1);
    split_ =
        shamir_->add_subcommand("split", "Print N shares of the key, any T of which rebuild it");
    split_->add_option("-t,--threshold", threshold_, "Shares needed to rebuild (2-255)")
        ->required();
    split_->add_option("-n,--shares", count_, "Shares to make (T-255)")->required();
    split_->add_option("--in", in_,
                       "Key file (base64, hex or 24 words); default: the key on stdin");
    Examples(split_, {"sirr operator shamir split -t 3 -n 5 --in master.key"});
    combine_ = shamir_->add_subcommand(
        "combine", "Read T or more shares from stdin (one per line) and write the key file");
    combine_->add_option("-t,--threshold", threshold_, "The split's threshold")->required();
    combine_->add_option("--out", out_,
                         "Write the key file here (mode 0400, never overwrites); default stdout");
    Examples(combine_, {"sirr operator shamir combine -t 3 --out master.key < shares.txt"});
  }
  bool parsed() const override { return root_->parsed(); }

  int Run(Session& s) override {
    if (keygen_->parsed()) return Keygen(s);
    if (unseal_->parsed()) return Unseal(s);
    if (rotate_->parsed()) return Rotate(s);
    if (backup_->parsed()) return Backup(s);
    if (split_->parsed()) return Split(s);
    if (combine_->parsed()) return Combine(s);
    client::HttpResponse r;
    if (auto rc = s.Expect("POST", "/api/v1/seal", 204, &r)) return *rc;
    if (s.json_output()) return s.PrintJson(json{{"sealed", true}}), 0;
    s.Out("sealed\n");
    return 0;
  }

 private:
  int Keygen(Session& s) {
    SecretBytes key = crypto::SecureRandom::Get().RandomSecret(32);
    auto mnemonic = crypto::hd::EntropyToMnemonic(key.reveal());
    if (!mnemonic.ok()) return s.Usage(mnemonic.status().message());
    const std::string hash = seal::ValidationHash(key);
    if (!out_.empty()) {
      std::string err = WriteKeyFile(out_, key);
      if (!err.empty()) return s.Usage(err);
    }
    if (s.json_output()) {
      json j = json::object();
      j["mnemonic"] = std::string(mnemonic->reveal_string());
      j["validation_hash"] = hash;
      j["key_file"] = out_.empty() ? json(nullptr) : json(out_);
      s.PrintJson(j);
      auto& words = j["mnemonic"].get_ref<std::string&>();
      SecureWipe(words.data(), words.size());
      return 0;
    }
    if (!out_.empty()) {
      s.Out(
          "Wrote the master key to %s (mode 0400). Keep it OUTSIDE the data directory\n"
          "and its backups; point SIRR_KEY_FILE at it.\n\n",
          out_.c_str());
    }
    s.Out(
        "Unseal key (24-word BIP39 mnemonic), shown once:\n\n  %.*s\n\n"
        "Validation hash (SEAL_UNSEAL_VALIDATION_HASH; not secret):\n\n  %s\n\n"
        "The mnemonic IS the master key. Write it down and keep it offline (a safe, a sealed\n"
        "envelope, or split it with a Shamir backup), never in the database directory, a\n"
        "repository, a chat or a ticket. Anyone holding it can decrypt every secret.\n",
        static_cast<int>(mnemonic->size()), mnemonic->reveal_string().data(), hash.c_str());
    return 0;
  }

  // The phrase: from the terminal without echo, or stdin when piped.
  StatusOr<SecretBytes> ReadPhrase(Session& s) {
    SecretBytes phrase;
    if (s.io().in_tty) {
      SIRR_ASSIGN_OR_RETURN(phrase, s.io().read_hidden("Unseal key (24 words, not echoed): "));
    } else {
      char c;
      while (s.io().in.get(c) && phrase.size() <= 4096)
        phrase.Append(AsBytes(std::string_view(&c, 1)));
      c = 0;
    }
    if (phrase.empty()) return InvalidArgumentError("no unseal key given");
    return phrase;
  }

  int Unseal(Session& s) {
    // The server takes the mnemonic. Whatever parses as a key here (a key file; base64, hex or
    // a valid 24-word phrase typed in) is sent in its mnemonic spelling; anything else is sent
    // as typed, so that the server judges (and rate-limits) it.
    SecretBytes phrase;
    StatusOr<SecretBytes> key = InvalidArgumentError("no key");
    if (!in_.empty()) {
      auto file = seal::ReadKeyFile(in_);
      if (!file.ok()) return s.Usage(file.status().message());
      key = std::move(file->key);
    } else {
      auto typed = ReadPhrase(s);
      if (!typed.ok()) return s.Usage(typed.status().message());
      phrase = std::move(typed).value();
      key = seal::ParseMasterKey(phrase.reveal_string());
    }
    if (key.ok()) {
      auto mnemonic = crypto::hd::EntropyToMnemonic(key->reveal());
      if (!mnemonic.ok()) return s.Usage(mnemonic.status().message());
      phrase = std::move(mnemonic).value();
    }
    json body = json::object();  // assigned (moved), so only body's copy needs wiping
    body["key"] = std::string(phrase.reveal_string());
    std::string text = body.dump();
    auto& sent = body["key"].get_ref<std::string&>();
    SecureWipe(sent.data(), sent.size());
    client::HttpResponse r;
    auto rc = s.Expect("POST", "/api/v1/unseal", 204, &r, text);
    SecureWipe(text.data(), text.size());
    if (rc) return *rc;
    if (s.json_output()) return s.PrintJson(json{{"sealed", false}}), 0;
    s.Out("unsealed\n");
    return 0;
  }

  int Rotate(Session& s) {
    client::HttpResponse r;
    if (auto rc = s.Expect("POST", "/api/v1/admin/rotate-keys", 202, &r, "{}")) return *rc;
    auto started = json::parse(r.body, nullptr, false);
    const std::string job = started.value("job_id", std::string());
    if (no_wait_) {
      if (s.json_output()) return s.PrintJson(started), 0;
      s.Err("rotation job %s: %lld vault key(s) to rewrap\n", job.c_str(),
            static_cast<long long>(started.value("total", 0)));
      s.Out("%s\n", job.c_str());
      return 0;
    }
    if (!s.json_output())
      s.Err("rotation job %s: %lld vault key(s) to rewrap\n", job.c_str(),
            static_cast<long long>(started.value("total", 0)));
    // A progress bar only on a terminal; a log or a pipe gets the final line.
    const bool bar = s.io().err_tty && !s.json_output();
    for (;;) {
      if (auto rc = s.Expect("GET", "/api/v1/admin/rotate-keys", 200, &r)) return *rc;
      auto st = json::parse(r.body, nullptr, false);
      const long long total = st.value("total", 0), done = st.value("done", 0);
      const std::string state = st.value("state", std::string());
      if (bar || (state != "running" && !s.json_output())) {
        constexpr int kWidth = 40;
        const int filled = total > 0 ? static_cast<int>(kWidth * done / total) : kWidth;
        std::string drawn(static_cast<size_t>(filled), '#');
        drawn.resize(kWidth, '.');
        s.Err("%s[%s] %lld/%lld rewrapped, %lld failed%s", bar ? "\r" : "", drawn.c_str(), done,
              total, static_cast<long long>(st.value("failed", 0)), state == "running" ? "" : "\n");
      }
      if (state != "running") {
        if (s.json_output()) s.PrintJson(st);
        if (state == "completed") {
          if (!s.json_output())
            s.Out("rotation completed: %lld vault key(s) now under key version %d\n", done,
                  st.value("to_version", 0));
          return 0;
        }
        return s.Fail(kExitRefused, "rotation " + state + ": " + st.value("detail", std::string()));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  int Backup(Session& s) {
    int fd = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
      return s.Usage("cannot create " + out_ + ": " + std::strerror(errno) +
                     " (an existing file is never overwritten)");
    client::HttpResponse r;
    if (auto rc = s.Expect("POST", "/api/v1/admin/backup", 200, &r, "{}")) {
      ::close(fd);
      ::unlink(out_.c_str());
      return *rc;
    }
    const std::string sum = HexEncode(crypto::Sha256(AsBytes(r.body)));
    const bool ok =
        sum == r.headers["x-sirr-backup-sha256"] &&
        ::write(fd, r.body.data(), r.body.size()) == static_cast<ssize_t>(r.body.size()) &&
        ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) {
      ::unlink(out_.c_str());
      return s.Fail(kExitServer, "backup transfer failed (checksum mismatch or write error)");
    }
    if (s.json_output())
      return s.PrintJson(json{{"file", out_}, {"bytes", r.body.size()}, {"sha256", sum}}), 0;
    s.Out("wrote %s (%zu bytes, mode 0600)\nsha256 %s\n", out_.c_str(), r.body.size(), sum.c_str());
    s.Err(
        "The backup holds no plaintext and is useless without the master key; keep the key (or "
        "its Shamir shares) apart from database backups.\n");
    return 0;
  }

  int Split(Session& s) {
    StatusOr<SecretBytes> key = InvalidArgumentError("no key");
    if (!in_.empty() && in_ != "-") {
      auto file = seal::ReadKeyFile(in_);
      if (!file.ok()) return s.Usage(file.status().message());
      key = std::move(file->key);
    } else {
      auto text = ReadAll(s.io().in);
      if (!text.ok()) return s.Usage(text.status().message());
      key = seal::ParseMasterKey(text->reveal_string());
      if (!key.ok()) return s.Usage("stdin: " + key.status().message());
    }
    auto shares = seal::ShamirSplit(*key, threshold_, count_, crypto::SecureRandom::Get());
    if (!shares.ok()) return s.Usage(shares.status().message());
    if (s.json_output()) {
      json j{{"threshold", threshold_},
             {"validation_hash", seal::ValidationHash(*key)},
             {"shares", json::array()}};
      for (const auto& share : *shares)
        j["shares"].push_back(std::string(seal::FormatShare(share, count_).reveal_string()));
      s.PrintJson(j);
      for (auto& v : j["shares"]) {
        auto& text = v.get_ref<std::string&>();
        SecureWipe(text.data(), text.size());
      }
      return 0;
    }
    for (const auto& share : *shares) {
      SecretBytes line = seal::FormatShare(share, count_);
      s.io().out.write(reinterpret_cast<const char*>(line.reveal().data()),
                       static_cast<std::streamsize>(line.size()));
      s.io().out << '\n';
    }
    s.io().out.flush();
    s.Err(
        "%d shares, any %d of which rebuild the key (sirr operator shamir combine -t %d, or "
        "ssss-combine -t %d -x). Give each custodian one share; no share alone reveals "
        "anything. Validation hash of the key: %s\n",
        count_, threshold_, threshold_, threshold_, seal::ValidationHash(*key).c_str());
    return 0;
  }

  int Combine(Session& s) {
    auto text = ReadAll(s.io().in);
    if (!text.ok()) return s.Usage(text.status().message());
    std::vector<seal::Share> shares;
    std::string_view all = text->reveal_string();
    int line_no = 0;
    while (!all.empty()) {
      const size_t nl = all.find('\n');
      std::string_view line = all.substr(0, nl);
      all = nl == std::string_view::npos ? std::string_view() : all.substr(nl + 1);
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      auto share = seal::ParseShare(line);
      if (!share.ok())
        return s.Usage("line " + std::to_string(line_no) + ": " + share.status().message());
      shares.push_back(std::move(share).value());
    }
    auto key = seal::ShamirCombine(shares, threshold_);
    if (!key.ok()) return s.Usage(key.status().message());
    const std::string hash = seal::ValidationHash(*key);
    if (!out_.empty() && out_ != "-") {
      std::string err = WriteKeyFile(out_, *key);
      if (!err.empty()) return s.Usage(err);
      if (s.json_output())
        return s.PrintJson(json{{"key_file", out_}, {"validation_hash", hash}}), 0;
      s.Err("wrote the master key to %s (mode 0400); validation hash %s\n", out_.c_str(),
            hash.c_str());
      return 0;
    }
    std::string b64 = Base64Encode(key->reveal()) + "\n";
    if (s.json_output()) {
      json j{{"key", b64.substr(0, b64.size() - 1)}, {"validation_hash", hash}};
      s.PrintJson(j);
      auto& text = j["key"].get_ref<std::string&>();
      SecureWipe(text.data(), text.size());
      SecureWipe(b64.data(), b64.size());
      return 0;
    }
    s.io().out << b64;
    s.io().out.flush();
    SecureWipe(b64.data(), b64.size());
    s.Err("recovered the master key (key file format above); validation hash %s\n", hash.c_str());
    return 0;
  }

  CLI::App *root_, *keygen_, *unseal_, *seal_, *rotate_, *backup_, *shamir_, *split_, *combine_;
  std::string out_, in_;
  int threshold_ = 0, count_ = 0;
  bool no_wait_ = false;
};

}  // namespace

std::unique_ptr<Command> OperatorCommands(CLI::App& app) { return std::make_unique<Operator>(app); }

}  // namespace sirr::cli

// sirr age keygen | recipient | encrypt | decrypt: the age v1 format locally (no server), and
// the helpers push and pull use to encrypt before a value leaves the client.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <istream>

#include "base/encoding.h"
#include "cli/commands.h"
#include "crypto/crypto.h"

namespace sirr::cli {

namespace age = crypto::age;

StatusOr<SecretBytes> ReadPassphrase(Session& s, const std::string& file, bool confirm) {
  if (!file.empty()) {
    SIRR_ASSIGN_OR_RETURN(SecretBytes all, ReadFileSecret(file, "--passphrase-file"));
    std::string_view text = all.reveal_string();
    text = text.substr(0, text.find('\n'));
    if (text.ends_with('\r')) text.remove_suffix(1);
    if (text.empty()) return InvalidArgumentError("the --passphrase-file is empty");
    return SecretBytes(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  }
  if (!s.io().in_tty)
    return InvalidArgumentError(
        "--passphrase reads from the terminal and stdin is not one; give --passphrase-file FILE");
  SIRR_ASSIGN_OR_RETURN(SecretBytes pw, s.io().read_hidden("Passphrase (not echoed): "));
  if (pw.empty()) return InvalidArgumentError("empty passphrase");
  if (confirm) {
    SIRR_ASSIGN_OR_RETURN(SecretBytes again, s.io().read_hidden("Passphrase again: "));
    if (again.size() != pw.size() ||
        !std::equal(pw.reveal().begin(), pw.reveal().end(), again.reveal().begin()))
      return InvalidArgumentError("the passphrases do not match");
  }
  return pw;
}

StatusOr<std::vector<age::Recipient>> LoadRecipients(const std::vector<std::string>& recipients,
                                                     const std::vector<std::string>& files) {
  std::vector<age::Recipient> out;
  for (const auto& r : recipients) {
    auto parsed = age::ParseRecipient(Trim(r));
    if (!parsed.ok())
      return InvalidArgumentError("-r " + r.substr(0, 80) + ": " +
                                  std::string(parsed.status().message()));
    out.push_back(*parsed);
  }
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) return InvalidArgumentError("cannot read -R " + f + ": " + std::strerror(errno));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto parsed = age::ParseRecipientsFile(text);
    if (!parsed.ok())
      return InvalidArgumentError("-R " + f + ": " + std::string(parsed.status().message()));
    out.insert(out.end(), parsed->begin(), parsed->end());
  }
  return out;
}

StatusOr<age::Identities> LoadIdentities(Session& s, const std::vector<std::string>& files,
                                         bool passphrase, const std::string& passphrase_file) {
  age::Identities ids;
  std::vector<std::string> paths = files;
  if (paths.empty() && !passphrase && passphrase_file.empty())
    if (auto env = s.io().env("SIRR_AGE_IDENTITY"); env && !env->empty()) paths.push_back(*env);
  for (const auto& p : paths) {
    SIRR_ASSIGN_OR_RETURN(SecretBytes text, ReadFileSecret(p, "-i"));
    auto parsed = age::ParseIdentityFile(text.reveal_string());
    if (!parsed.ok())
      return InvalidArgumentError(p + ": " + std::string(parsed.status().message()));
    for (auto& id : *parsed) ids.x25519.push_back(std::move(id));
  }
  if (passphrase || !passphrase_file.empty()) {
    SIRR_ASSIGN_OR_RETURN(SecretBytes pw, ReadPassphrase(s, passphrase_file, false));
    ids.passphrase = std::move(pw);
  }
  return ids;
}

Status StreamInput(Session& s, const std::string& path, std::string_view flag,
                   const std::function<Status(std::span<const uint8_t>)>& fn) {
  std::ifstream file;
  std::istream* in = &s.io().in;
  if (!path.empty() && path != "-") {
    file.open(path, std::ios::binary);
    if (!file)
      return InvalidArgumentError("cannot read " + std::string(flag) + " " + path + ": " +
                                  std::strerror(errno));
    in = &file;
  }
  SecretBytes buf(64 * 1024);
  char* p = reinterpret_cast<char*>(buf.reveal_mut().data());
  while (in->read(p, static_cast<std::streamsize>(buf.size())) || in->gcount() > 0) {
    SIRR_RETURN_IF_ERROR(fn(buf.reveal().first(static_cast<size_t>(in->gcount()))));
  }
  if (in->bad()) return InvalidArgumentError("cannot read " + std::string(flag));
  return OkStatus();
}

namespace {

// Writes to a file (created with `mode`, replaced if it exists) or to stdout.
class Output {
 public:
  Status Open(Session& s, const std::string& path, mode_t mode) {
    s_ = &s;
    if (path.empty() || path == "-") return OkStatus();
    path_ = path;
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd_ < 0) return InvalidArgumentError("cannot write " + path + ": " + std::strerror(errno));
    return OkStatus();
  }
  ~Output() {
    if (fd_ >= 0) ::close(fd_);
  }
  void Write(std::span<const uint8_t> b) {
    if (fd_ < 0) {
      s_->io().out.write(reinterpret_cast<const char*>(b.data()),
                         static_cast<std::streamsize>(b.size()));
      return;
    }
    while (!b.empty() && ok_) {
      ssize_t n = ::write(fd_, b.data(), b.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ok_ = false;
        break;
      }
      b = b.subspan(static_cast<size_t>(n));
    }
  }
  Status Finish() {
    if (fd_ < 0) {
      s_->io().out.flush();
      return s_->io().out ? OkStatus() : InternalError("cannot write to stdout");
    }
    if (!ok_ || ::fsync(fd_) != 0)
      return InternalError("cannot write " + path_ + ": " + std::strerror(errno));
    return OkStatus();
  }

 private:
  Session* s_ = nullptr;
  std::string path_;
  int fd_ = -1;
  bool ok_ = true;
};

std::string NowUtc() {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char buf[32];
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

class AgeCmd final : public Command {
 public:
  explicit AgeCmd(CLI::App& app) {
    age_ = app.add_subcommand("age",
                              "age files locally (age-encryption.org/v1): keys, encrypt, decrypt");
    age_->require_subcommand(1);
    keygen_ = age_->add_subcommand("keygen", "Generate an X25519 identity (like age-keygen)");
    keygen_->add_option("-o,--output", out_, "Write the identity here (mode 0600, never replaced)");
    Examples(keygen_, {"sirr age keygen -o ~/.config/sirr/age.key   # prints the public key",
                       "sirr push db/prod -r age1…    # then encrypt for it"});
    recipient_ =
        age_->add_subcommand("recipient", "Print the recipients (age1…) of an identity file");
    recipient_->add_option("-i,--identity", identity_files_, "Identity file (default: stdin)")
        ->allow_extra_args(false);
    Examples(recipient_, {"sirr age recipient -i age.key"});

    encrypt_ = age_->add_subcommand("encrypt", "Encrypt a file for recipients or a passphrase");
    encrypt_->add_option("INPUT", in_, "File to encrypt (default: stdin)");
    encrypt_->add_option("-r,--recipient", recipients_, "An age1… recipient (repeatable)")
        ->allow_extra_args(false);
    encrypt_
        ->add_option("-R,--recipients-file", recipient_files_,
                     "A file of recipients, one per line (repeatable)")
        ->allow_extra_args(false);
    encrypt_->add_flag("-p,--passphrase", passphrase_, "Encrypt with a passphrase (scrypt)");
    encrypt_->add_option("--passphrase-file", passphrase_file_,
                         "Read the passphrase from this file's first line");
    encrypt_->add_option("--work-factor", log_n_, "scrypt work factor log2(N) (default 18)")
        ->check(CLI::Range(1, age::kMaxScryptLogN));
    encrypt_->add_flag("-a,--armor", armor_, "PEM-armored (text) output");
    encrypt_->add_option("-o,--output", out_, "Write here (default: stdout)");
    Examples(encrypt_, {"sirr age encrypt -r age1… -o notes.age notes.txt",
                        "sirr age encrypt -a -R team.txt < key.pem > key.pem.age"});

    decrypt_ = age_->add_subcommand("decrypt", "Decrypt an age file (binary or armored)");
    decrypt_->add_option("INPUT", in_, "File to decrypt (default: stdin)");
    decrypt_
        ->add_option("-i,--identity", identity_files_,
                     "Identity file (repeatable; default: $SIRR_AGE_IDENTITY)")
        ->allow_extra_args(false);
    decrypt_->add_flag("-p,--passphrase", passphrase_, "The file was encrypted with a passphrase");
    decrypt_->add_option("--passphrase-file", passphrase_file_,
                         "Read the passphrase from this file's first line");
    decrypt_->add_option("-o,--output", out_, "Write here (mode 0600; default: stdout)");
    Examples(decrypt_, {"sirr age decrypt -i age.key notes.age"});
  }

  bool parsed() const override { return age_->parsed(); }

  int Run(Session& s) override {
    if (keygen_->parsed()) return Keygen(s);
    if (recipient_->parsed()) return Recipient(s);
    if (encrypt_->parsed()) return Encrypt(s);
    return Decrypt(s);
  }

 private:
  int Keygen(Session& s) {
    age::Identity id = age::GenerateIdentity(crypto::SecureRandom::Get());
    const std::string pub = age::FormatRecipient(age::ToRecipient(id));
    SecretBytes text =
        SecretBytes::FromString("# created: " + NowUtc() + "\n# public key: " + pub + "\n");
    text.Append(age::FormatIdentity(id).reveal());
    text.Append(AsBytes(std::string_view("\n")));
    if (out_.empty()) {
      s.io().out.write(text.reveal_string().data(), static_cast<std::streamsize>(text.size()));
      s.io().out.flush();
    } else {
      int fd = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0)
        return s.Usage("cannot create " + out_ + ": " + std::strerror(errno) +
                       (errno == EEXIST ? " (an identity file is never replaced)" : ""));
      bool ok =
          ::write(fd, text.reveal().data(), text.size()) == static_cast<ssize_t>(text.size()) &&
          ::fsync(fd) == 0;
      ::close(fd);
      if (!ok) return s.Fail(kExitServer, "cannot write " + out_ + ": " + std::strerror(errno));
    }
    s.Err("Public key: %s\n", pub.c_str());
    return 0;
  }

  int Recipient(Session& s) {
    SecretBytes text;
    if (identity_files_.empty()) {
      auto all = ReadAll(s.io().in);
      if (!all.ok()) return s.Usage(all.status().message());
      text = std::move(*all);
    } else {
      for (const auto& f : identity_files_) {
        auto one = ReadFileSecret(f, "-i");
        if (!one.ok()) return s.Usage(one.status().message());
        text.Append(one->reveal());
        text.Append(AsBytes(std::string_view("\n")));
      }
    }
    auto ids = age::ParseIdentityFile(text.reveal_string());
    if (!ids.ok()) return s.Usage(ids.status().message());
    for (const auto& id : *ids) s.Out("%s\n", age::FormatRecipient(age::ToRecipient(id)).c_str());
    return 0;
  }

  int Encrypt(Session& s) {
    const bool with_pass = passphrase_ || !passphrase_file_.empty();
    if (with_pass && (!recipients_.empty() || !recipient_files_.empty()))
      return s.Usage(
          "a passphrase cannot be combined with recipients (age allows only one "
          "scrypt stanza, alone)");
    if (!with_pass && recipients_.empty() && recipient_files_.empty())
      return s.Usage("give -r RECIPIENT, -R FILE or --passphrase");
    Output out;
    if (auto st = out.Open(s, out_, 0644); !st.ok()) return s.Usage(st.message());
    auto sink = [&out](std::span<const uint8_t> b) { out.Write(b); };
    StatusOr<std::unique_ptr<age::Encryptor>> enc = InvalidArgumentError("");
    if (with_pass) {
      auto pw = ReadPassphrase(s, passphrase_file_, true);
      if (!pw.ok()) return s.Usage(pw.status().message());
      enc = age::Encryptor::ForPassphrase(*pw, log_n_, armor_, crypto::SecureRandom::Get(), sink);
    } else {
      auto to = LoadRecipients(recipients_, recipient_files_);
      if (!to.ok()) return s.Usage(to.status().message());
      enc = age::Encryptor::ForRecipients(*to, armor_, crypto::SecureRandom::Get(), sink);
    }
    if (!enc.ok()) return s.Usage(enc.status().message());
    Status st =
        StreamInput(s, in_, "INPUT", [&](std::span<const uint8_t> b) { return (*enc)->Write(b); });
    if (!st.ok()) return s.Usage(st.message());
    if (auto closed = (*enc)->Close(); !closed.ok()) return s.Fail(kExitUsage, closed.message());
    if (auto st = out.Finish(); !st.ok()) return s.Fail(kExitServer, st.message());
    return 0;
  }

  int Decrypt(Session& s) {
    auto ids = LoadIdentities(s, identity_files_, passphrase_, passphrase_file_);
    if (!ids.ok()) return s.Usage(ids.status().message());
    if (ids->x25519.empty() && !ids->passphrase)
      return s.Usage("give -i IDENTITY_FILE (or set SIRR_AGE_IDENTITY) or --passphrase");
    Bytes input;  // the age file (not secret): read whole, it is opened chunk by chunk
    Status read = StreamInput(s, in_, "INPUT", [&input](std::span<const uint8_t> b) {
      input.insert(input.end(), b.begin(), b.end());
      return OkStatus();
    });
    if (!read.ok()) return s.Usage(read.message());
    Output out;
    if (auto st = out.Open(s, out_, 0600); !st.ok()) return s.Usage(st.message());
    Status st = age::Decrypt(input, *ids, [&out](std::span<const uint8_t> b) { out.Write(b); });
    if (!st.ok()) return s.Fail(kExitRefused, st.message());
    if (auto fin = out.Finish(); !fin.ok()) return s.Fail(kExitServer, fin.message());
    return 0;
  }

  CLI::App *age_, *keygen_, *recipient_, *encrypt_, *decrypt_;
  std::string out_, in_, passphrase_file_;
  std::vector<std::string> recipients_, recipient_files_, identity_files_;
  bool passphrase_ = false, armor_ = false;
  int log_n_ = age::kDefaultScryptLogN;
};

}  // namespace

std::unique_ptr<Command> AgeCommands(CLI::App& app) { return std::make_unique<AgeCmd>(app); }

}  // namespace sirr::cli

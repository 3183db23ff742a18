#include "sirr_operator.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "base/encoding.h"
#include "cli_util.h"
#include "crypto/crypto.h"
#include "seal/master_key.h"
#include "seal/shamir.h"

namespace sirr_cli {

std::string WriteKeyFile(const std::string& path, const sirr::SecretBytes& key) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
  if (fd < 0)
    return "cannot create " + path + ": " + std::strerror(errno) +
           " (an existing key file is never overwritten)";
  std::string text = sirr::Base64Encode(key.reveal()) + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  sirr::SecureWipe(text.data(), text.size());
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return "cannot write " + path;
  }
  return "";
}

int ShamirSplitCommand(int threshold, int count, const std::string& in) {
  sirr::StatusOr<sirr::SecretBytes> key = sirr::InvalidArgumentError("no key");
  if (!in.empty() && in != "-") {
    auto file = sirr::seal::ReadKeyFile(in);
    if (!file.ok()) return Usage(file.status().message());
    key = std::move(file->key);
  } else {
    auto text = ReadAll(std::cin);
    if (!text.ok()) return Usage(text.status().message());
    key = sirr::seal::ParseMasterKey(text->reveal_string());
    if (!key.ok()) return Usage("stdin: " + key.status().message());
  }
  auto shares = sirr::seal::ShamirSplit(*key, threshold, count, sirr::crypto::SecureRandom::Get());
  if (!shares.ok()) return Usage(shares.status().message());
  for (const auto& share : *shares) {
    sirr::SecretBytes line = FormatShare(share, count);
    std::fwrite(line.reveal().data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
  }
  std::fflush(stdout);
  std::fprintf(stderr,
               "%d shares, any %d of which rebuild the key (sirr operator shamir combine -t %d, or "
               "ssss-combine -t %d -x). Give each custodian one share; no share alone reveals "
               "anything. Validation hash of the key: %s\n",
               count, threshold, threshold, threshold, sirr::seal::ValidationHash(*key).c_str());
  return 0;
}

int ShamirCombineCommand(int threshold, const std::string& out) {
  auto text = ReadAll(std::cin);
  if (!text.ok()) return Usage(text.status().message());
  std::vector<sirr::seal::Share> shares;
  std::string_view all = text->reveal_string();
  int line_no = 0;
  while (!all.empty()) {
    const size_t nl = all.find('\n');
    std::string_view line = all.substr(0, nl);
    all = nl == std::string_view::npos ? std::string_view() : all.substr(nl + 1);
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto share = sirr::seal::ParseShare(line);
    if (!share.ok())
      return Usage("line " + std::to_string(line_no) + ": " + share.status().message());
    shares.push_back(std::move(share).value());
  }
  auto key = sirr::seal::ShamirCombine(shares, threshold);
  if (!key.ok()) return Usage(key.status().message());
  const std::string hash = sirr::seal::ValidationHash(*key);
  if (!out.empty() && out != "-") {
    std::string err = WriteKeyFile(out, *key);
    if (!err.empty()) return Usage(err);
    std::fprintf(stderr, "wrote the master key to %s (mode 0400); validation hash %s\n",
                 out.c_str(), hash.c_str());
    return 0;
  }
  std::string b64 = sirr::Base64Encode(key->reveal()) + "\n";
  std::fwrite(b64.data(), 1, b64.size(), stdout);
  std::fflush(stdout);
  sirr::SecureWipe(b64.data(), b64.size());
  std::fprintf(stderr, "recovered the master key (key file format above); validation hash %s\n",
               hash.c_str());
  return 0;
}

}  // namespace sirr_cli

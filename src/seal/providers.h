#pragma once

// Master-key providers (SIRR_SEAL_PROVIDER): where the 32-byte master key comes from at start-up.
//
//   file     SIRR_KEY_FILE (default)
//   docker   SIRR_KEY_FILE, else /run/secrets/unsealerkey, else /run/secrets/master_key
//   env      SEAL_UNSEAL_KEY or VAULT_SEAL_UNSEAL_KEY (development only; wiped and unset)
//   api      none: sirrd starts sealed and waits for POST /api/v1/unseal
//   pkcs11   a key file wrapped by a non-extractable AES key inside an HSM (seal/pkcs11.h)
//   command  the stdout of SIRR_SEAL_COMMAND (run without a shell, with a timeout)
//
// Every provider is fail-closed: any problem is an error naming the source, never the key.
// Thread safety: LoadMasterKey is not thread-safe (it may edit the environment); call it once
// at start-up.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/secret_bytes.h"
#include "base/status.h"
#include "seal/pkcs11.h"

namespace sirr::seal {

struct ProviderConfig {
  std::string provider = "file";
  std::string key_file;  // file, docker
  std::string docker_secrets_dir = "/run/secrets";
  std::string command;               // command: SIRR_SEAL_COMMAND
  int command_timeout_seconds = 30;  // command: SIRR_SEAL_COMMAND_TIMEOUT
  Pkcs11Config pkcs11;               // pkcs11
  // Receives warnings and, for `command`, each line the command writes to stderr.
  std::function<void(const std::string&)> log;
};

inline const std::vector<std::string>& KnownProviders() {
  static const std::vector<std::string> names = {"file", "docker", "env",
                                                 "api",  "pkcs11", "command"};
  return names;
}

struct LoadedKey {
  std::optional<SecretBytes> key;  // empty for "api": start sealed
  std::string source;              // e.g. "key file /etc/sirr/master.key"; never the key
};

StatusOr<LoadedKey> LoadMasterKey(const ProviderConfig& config);

// Splits a command line into arguments: whitespace separates; '…' and "…" quote; backslash
// escapes outside single quotes. No variables, globs or substitutions: nothing is interpreted.
StatusOr<std::vector<std::string>> SplitCommandLine(std::string_view line);

struct CommandOutput {
  SecretBytes out;  // stdout, at most max_output bytes
  int exit_code = -1;
};

// Runs argv (no shell) with the given timeout; stdin is /dev/null, stderr lines go to `log`.
// The child's environment is ours minus the variables that may hold secrets
// (SEAL_UNSEAL_KEY, VAULT_SEAL_UNSEAL_KEY, SIRR_ADMIN_TOKEN). DeadlineExceeded-like
// Unavailable on timeout (the process group is killed).
StatusOr<CommandOutput> RunCommand(const std::vector<std::string>& argv, int timeout_seconds,
                                   size_t max_output,
                                   const std::function<void(const std::string&)>& log);

// Returns the environment variable's value (or "") and removes it from the environment,
// wiping "NAME=value" in place so that /proc/PID/environ no longer shows it.
std::string TakeEnvironmentVariable(const char* name);

}  // namespace sirr::seal

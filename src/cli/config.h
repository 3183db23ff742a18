#pragma once

// The sirr CLI's configuration file: named contexts (server, CA certificate, token file,
// default vault), one of them current, like kubectl's contexts. Path: $SIRR_CONFIG, else
// $XDG_CONFIG_HOME/sirr/config, else ~/.config/sirr/config. Format (docs/cli.md):
//
//   current-context = prod
//
//   [context "prod"]
//   server = https://vault.example.com:8443
//   ca-cert = /etc/sirr/ca.pem
//   token-file = /home/me/.config/sirr/prod.token
//   vault = payments
//
// Blank lines and lines starting with '#' are ignored. No secrets are kept in it: a context
// names a token file, never a token.

#include <string>
#include <vector>

#include "base/status.h"
#include "cli/cli.h"

namespace sirr::cli {

struct Context {
  std::string name;
  std::string server;
  std::string ca_cert;
  std::string client_cert;  // mutual TLS: PEM certificate and key
  std::string client_key;
  std::string token_file;
  std::string vault;
};

struct Config {
  std::string current;  // current-context, may be empty
  std::vector<Context> contexts;

  const Context* Find(std::string_view name) const;
  Context* Find(std::string_view name);
};

// The config file's path from the environment (see above); empty when no HOME is known.
std::string ConfigPath(const Console& console);
// A missing file is an empty config; a malformed one is InvalidArgument naming the line.
StatusOr<Config> LoadConfig(const std::string& path);
// Writes atomically (temporary file, fsync, rename), mode 0600; creates the directory (0700).
Status SaveConfig(const std::string& path, const Config& config);

}  // namespace sirr::cli

#pragma once

// `sirr key ...`: keys and cryptographic operations (docs/keys.md).

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "cli_util.h"

namespace sirr_cli {

struct KeyArgs;

class KeyCommands {
 public:
  // Adds `key` and its subcommands to `app`.
  explicit KeyCommands(CLI::App& app);
  ~KeyCommands();
  bool parsed() const;
  // Runs the parsed subcommand against `vault`; returns the exit code.
  int Run(const std::string& vault, const Expect& expect, const FetchAll& fetch_all);

 private:
  std::unique_ptr<KeyArgs> a_;
};

}  // namespace sirr_cli

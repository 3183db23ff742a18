#pragma once

// One command class per noun of the sirr CLI. Each registers its subcommands on the CLI11 app
// in its constructor (with help text and examples) and runs the parsed one in Run.

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "crypto/age/age.h"

namespace sirr::cli {

class Command {
 public:
  virtual ~Command() = default;
  // The command (or one of its subcommands) was given on this command line.
  virtual bool parsed() const = 0;
  virtual int Run(Session& session) = 0;
};

// A whole number of at least 1; the error says so in words ("--reads must be at least 1 (a
// whole number)"; CLI11's own range check prints the whole int64 range).
CLI::Validator AtLeastOne();

// Adds an "Examples:" footer to a command's --help.
void Examples(CLI::App* cmd, const std::vector<std::string>& lines);

// push, pull, rm, inspect, list (secret_commands.cc).
std::unique_ptr<Command> SecretCommands(CLI::App& app);
// vault create|list|show|rm (vault_commands.cc).
std::unique_ptr<Command> VaultCommands(CLI::App& app);
// token create|list|revoke (token_commands.cc).
std::unique_ptr<Command> TokenCommands(CLI::App& app);
// key create|list|show|rm|encrypt|decrypt|sign|verify|derive (key_commands.cc).
std::unique_ptr<Command> KeyCommands(CLI::App& app);
// operator keygen|unseal|seal|rotate|backup|shamir (operator_commands.cc).
std::unique_ptr<Command> OperatorCommands(CLI::App& app);
// audit search|tail (audit_commands.cc).
std::unique_ptr<Command> AuditCommands(CLI::App& app);
// age keygen|recipient|encrypt|decrypt: local age files, no server (age_commands.cc).
std::unique_ptr<Command> AgeCommands(CLI::App& app);
// share: a one-time share link (share_commands.cc).
std::unique_ptr<Command> ShareCommand(CLI::App& app);
// status (status_commands.cc).
std::unique_ptr<Command> StatusCommand(CLI::App& app);
// context list|show|use|set|rm: named connection settings in the config file (config.cc).
std::unique_ptr<Command> ContextCommands(CLI::App& app);
// completion bash|zsh|fish (completion.cc).
std::unique_ptr<Command> CompletionCommands(CLI::App& app);
// `sirr __complete WORDS...`, which the completion scripts call: the subcommands and flags that
// may follow WORDS, one per line.
void CompleteWords(const CLI::App& app, const std::vector<std::string>& words, std::ostream& out);

// age helpers shared by push, pull and `sirr age` (age_commands.cc).
inline constexpr std::string_view kAgeContentType = "application/age";
// A passphrase from `file` (its first line), else read without echo on the terminal (twice
// when `confirm`). An error when stdin is not a terminal and no file is given.
StatusOr<SecretBytes> ReadPassphrase(Session& s, const std::string& file, bool confirm);
// Recipients from -r values and -R files; an error names the bad one.
StatusOr<std::vector<crypto::age::Recipient>> LoadRecipients(
    const std::vector<std::string>& recipients, const std::vector<std::string>& files);
// Identities from -i files (else the file SIRR_AGE_IDENTITY names), and/or a passphrase.
StatusOr<crypto::age::Identities> LoadIdentities(Session& s, const std::vector<std::string>& files,
                                                 bool passphrase,
                                                 const std::string& passphrase_file);
// Hands a file's bytes (stdin's when `path` is empty or "-") to `fn` in pieces of at most
// 64 KiB, through one wiped buffer: a large value is never held whole.
Status StreamInput(Session& s, const std::string& path, std::string_view flag,
                   const std::function<Status(std::span<const uint8_t>)>& fn);

// Local operator helpers (no server).
// Creates `path` with mode 0400 (never overwrites) holding the base64 key and a newline,
// fsynced. Returns an error message, empty on success.
std::string WriteKeyFile(const std::string& path, const SecretBytes& key);

}  // namespace sirr::cli

#pragma once

// Local operator commands of the sirr CLI that need no server: Shamir split/combine of the
// master key (seal/shamir.h, share-compatible with Debian's ssss) and writing key files.

#include <string>

#include "base/secret_bytes.h"

namespace sirr_cli {

// Creates `path` with mode 0400 (never overwrites) holding the base64 key and a newline,
// fsynced. Returns an error message, empty on success.
std::string WriteKeyFile(const std::string& path, const sirr::SecretBytes& key);

// sirr operator shamir split -t T -n N [--in KEYFILE]: the key from the file or stdin (base64,
// hex or 24 words); N shares on stdout.
int ShamirSplitCommand(int threshold, int count, const std::string& in);
// sirr operator shamir combine -t T [--out FILE]: shares from stdin (one per line); the key
// file (base64) to stdout or FILE.
int ShamirCombineCommand(int threshold, const std::string& out);

}  // namespace sirr_cli

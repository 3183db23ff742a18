#pragma once

// Free-text fields (a secret's type and description, a token's name, descriptions of vaults and
// keys) can reach response headers (X-Secret-Type) and log lines. Control characters there are
// refused: CR/LF would split a header or a log line, NUL truncates, ESC drives terminals.

#include <string>
#include <string_view>

#include "base/status.h"

namespace sirr::core {

// InvalidArgument (422) naming `field` when `value` holds a C0 control character, DEL, or a C1
// control (U+0080..U+009F in UTF-8); tab is refused too (no field needs it).
inline Status RejectControlCharacters(std::string_view field, std::string_view value) {
  for (size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    const bool c1 = c == 0xc2 && i + 1 < value.size() &&
                    static_cast<unsigned char>(value[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(value[i + 1]) <= 0x9f;
    if (c < 0x20 || c == 0x7f || c1)
      return InvalidArgumentError(std::string(field) +
                                  " must not contain control characters (such as CR, LF, NUL)");
  }
  return OkStatus();
}

// Names of vaults and keys are display labels (Provide's clients name a vault "vaulty vault"):
// letters, digits, single spaces and . _ -, neither starting nor ending with a space (vault
// names start with a letter or a digit); 1 to `max_length` characters. `what` is "vault name"
// or "key name".
inline Status ValidateDisplayName(std::string_view what, std::string_view name, size_t max_length,
                                  bool alnum_first) {
  auto alnum = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  };
  if (name.empty() || name.size() > max_length)
    return InvalidArgumentError(std::string(what) + " must be 1 to " + std::to_string(max_length) +
                                " characters");
  if (alnum_first && !alnum(name.front()))
    return InvalidArgumentError(std::string(what) + " must start with a letter or a digit");
  if (name.front() == ' ')
    return InvalidArgumentError(std::string(what) + " must not start with a space");
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (c == ' ' && (i + 1 == name.size() || name[i + 1] == ' '))
      return InvalidArgumentError(std::string(what) +
                                  " must not end with a space or hold two in a row");
    if (!alnum(c) && c != ' ' && c != '.' && c != '_' && c != '-')
      return InvalidArgumentError(std::string(what) +
                                  " may contain only letters, digits, spaces and . _ -");
  }
  return OkStatus();
}

}  // namespace sirr::core

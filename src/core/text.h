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

}  // namespace sirr::core

#pragma once

// Hex and base64 codecs. Every routine here runs in time independent of the *values* of the
// bytes (no table lookups or branches on data), so they are safe for secret material; they
// do depend on lengths, and decoding stops early at the first invalid character (the input is
// then malformed, and error messages never echo it).

#include <span>
#include <string>
#include <string_view>

#include "base/secret_bytes.h"
#include "base/status.h"

namespace sirr {

std::string HexEncode(std::span<const uint8_t> data);  // lower case
// Hex of secret data, after `prefix` (e.g. "0x"), straight into wiped-on-free memory.
SecretBytes HexEncodeSecret(std::span<const uint8_t> data, std::string_view prefix = "");
StatusOr<Bytes> HexDecode(std::string_view hex);  // either case, even length
StatusOr<SecretBytes> HexDecodeSecret(std::string_view hex);

enum class Base64Alphabet { kStandard, kUrlSafe };

// Standard: padded with '='. UrlSafe: no padding.
std::string Base64Encode(std::span<const uint8_t> data,
                         Base64Alphabet alphabet = Base64Alphabet::kStandard);
// Accepts padded or unpadded input of the given alphabet; rejects anything else, including
// whitespace and non-zero trailing bits.
StatusOr<Bytes> Base64Decode(std::string_view text,
                             Base64Alphabet alphabet = Base64Alphabet::kStandard);
StatusOr<SecretBytes> Base64DecodeSecret(std::string_view text,
                                         Base64Alphabet alphabet = Base64Alphabet::kStandard);

// Number of bytes a base64 text of this length decodes to (after stripping padding), or -1.
long Base64DecodedSize(std::string_view text);

// Appends `s` as a JSON string: quotes, backslashes and control characters escaped as
// nlohmann::json writes them; bytes that are not valid UTF-8 become U+FFFD.
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace sirr

#include "base/encoding.h"

#include <algorithm>

namespace sirr {
namespace {

// All helpers compute with signed ints in a small range; `(x) >> 8` of a value in
// (-256, 256) is 0 for x >= 0 and -1 (all ones) for x < 0, which gives branch-free masks.
inline int LessMask(int a, int b) { return (a - b) >> 8; }  // -1 if a < b (for |a-b| < 256)
inline int InRange(int c, int lo, int hi) { return ((lo - 1 - c) & (c - hi - 1)) >> 8; }

inline char HexChar(int nibble) {
  return static_cast<char>(nibble + '0' + (LessMask(9, nibble) & ('a' - '0' - 10)));
}

// Returns 0..15, or -1 for a non-hex character; no branches on c.
inline int HexValue(int c) {
  int v = -1;
  v += InRange(c, '0', '9') & (c - '0' + 1);
  v += InRange(c, 'a', 'f') & (c - 'a' + 11);
  v += InRange(c, 'A', 'F') & (c - 'A' + 11);
  return v;
}

inline char Base64Char(int v, Base64Alphabet alphabet) {
  int diff = 'A';
  diff += LessMask(25, v) & ('a' - 26 - 'A');
  diff += LessMask(51, v) & (('0' - 52) - ('a' - 26));
  if (alphabet == Base64Alphabet::kStandard) {
    diff += LessMask(61, v) & (('+' - 62) - ('0' - 52));
    diff += LessMask(62, v) & (('/' - 63) - ('+' - 62));
  } else {
    diff += LessMask(61, v) & (('-' - 62) - ('0' - 52));
    diff += LessMask(62, v) & (('_' - 63) - ('-' - 62));
  }
  return static_cast<char>(v + diff);
}

// Returns 0..63, or -1 for a character outside the alphabet; no branches on c.
inline int Base64Value(int c, Base64Alphabet alphabet) {
  int v = -1;
  v += InRange(c, 'A', 'Z') & (c - 'A' + 1);
  v += InRange(c, 'a', 'z') & (c - 'a' + 27);
  v += InRange(c, '0', '9') & (c - '0' + 53);
  if (alphabet == Base64Alphabet::kStandard) {
    v += InRange(c, '+', '+') & 63;
    v += InRange(c, '/', '/') & 64;
  } else {
    v += InRange(c, '-', '-') & 63;
    v += InRange(c, '_', '_') & 64;
  }
  return v;
}

Status HexDecodeInto(std::string_view hex, std::span<uint8_t> out) {
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexValue(static_cast<unsigned char>(hex[2 * i]));
    int lo = HexValue(static_cast<unsigned char>(hex[2 * i + 1]));
    if ((hi | lo) < 0) return InvalidArgumentError("invalid hex: non-hex character");
    out[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return OkStatus();
}

std::string_view StripPadding(std::string_view text) {
  if (text.size() % 4 != 0) return text;
  if (text.ends_with("==")) return text.substr(0, text.size() - 2);
  if (text.ends_with("=")) return text.substr(0, text.size() - 1);
  return text;
}

Status Base64DecodeInto(std::string_view text, Base64Alphabet alphabet, std::span<uint8_t> out) {
  size_t o = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (char ch : text) {
    int v = Base64Value(static_cast<unsigned char>(ch), alphabet);
    if (v < 0) return InvalidArgumentError("invalid base64: character outside the alphabet");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = static_cast<uint8_t>(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  if (acc != 0) return InvalidArgumentError("invalid base64: non-zero trailing bits");
  return OkStatus();
}

}  // namespace

std::string HexEncode(std::span<const uint8_t> data) {
  std::string out(data.size() * 2, '\0');
  for (size_t i = 0; i < data.size(); ++i) {
    out[2 * i] = HexChar(data[i] >> 4);
    out[2 * i + 1] = HexChar(data[i] & 0x0f);
  }
  return out;
}

SecretBytes HexEncodeSecret(std::span<const uint8_t> data, std::string_view prefix) {
  SecretBytes out(prefix.size() + data.size() * 2);
  auto o = out.reveal_mut();
  std::copy(prefix.begin(), prefix.end(), o.begin());
  for (size_t i = 0; i < data.size(); ++i) {
    o[prefix.size() + 2 * i] = static_cast<uint8_t>(HexChar(data[i] >> 4));
    o[prefix.size() + 2 * i + 1] = static_cast<uint8_t>(HexChar(data[i] & 0x0f));
  }
  return out;
}

StatusOr<Bytes> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return InvalidArgumentError("invalid hex: odd length");
  Bytes out(hex.size() / 2);
  SIRR_RETURN_IF_ERROR(HexDecodeInto(hex, out));
  return out;
}

StatusOr<SecretBytes> HexDecodeSecret(std::string_view hex) {
  if (hex.size() % 2 != 0) return InvalidArgumentError("invalid hex: odd length");
  SecretBytes out(hex.size() / 2);
  SIRR_RETURN_IF_ERROR(HexDecodeInto(hex, out.reveal_mut()));
  return out;
}

std::string Base64Encode(std::span<const uint8_t> data, Base64Alphabet alphabet) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t n = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out += Base64Char((n >> 18) & 63, alphabet);
    out += Base64Char((n >> 12) & 63, alphabet);
    out += Base64Char((n >> 6) & 63, alphabet);
    out += Base64Char(n & 63, alphabet);
  }
  size_t rest = data.size() - i;
  if (rest > 0) {
    uint32_t n = uint32_t{data[i]} << 16;
    if (rest == 2) n |= uint32_t{data[i + 1]} << 8;
    out += Base64Char((n >> 18) & 63, alphabet);
    out += Base64Char((n >> 12) & 63, alphabet);
    if (rest == 2) out += Base64Char((n >> 6) & 63, alphabet);
    if (alphabet == Base64Alphabet::kStandard) out.append(3 - rest, '=');
  }
  return out;
}

long Base64DecodedSize(std::string_view text) {
  std::string_view body = StripPadding(text);
  if (body.size() % 4 == 1) return -1;
  return static_cast<long>(body.size() / 4 * 3 + (body.size() % 4 == 0 ? 0 : body.size() % 4 - 1));
}

StatusOr<Bytes> Base64Decode(std::string_view text, Base64Alphabet alphabet) {
  long n = Base64DecodedSize(text);
  if (n < 0) return InvalidArgumentError("invalid base64: bad length or padding");
  Bytes out(static_cast<size_t>(n));
  SIRR_RETURN_IF_ERROR(Base64DecodeInto(StripPadding(text), alphabet, out));
  return out;
}

StatusOr<SecretBytes> Base64DecodeSecret(std::string_view text, Base64Alphabet alphabet) {
  long n = Base64DecodedSize(text);
  if (n < 0) return InvalidArgumentError("invalid base64: bad length or padding");
  SecretBytes out(static_cast<size_t>(n));
  SIRR_RETURN_IF_ERROR(Base64DecodeInto(StripPadding(text), alphabet, out.reveal_mut()));
  return out;
}

void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out.append("\\\"");
          break;
        case '\\':
          out.append("\\\\");
          break;
        case '\b':
          out.append("\\b");
          break;
        case '\f':
          out.append("\\f");
          break;
        case '\n':
          out.append("\\n");
          break;
        case '\r':
          out.append("\\r");
          break;
        case '\t':
          out.append("\\t");
          break;
        default:
          if (c < 0x20) {
            out.append("\\u00");
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xf]);
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    // Multi-byte sequence: lead byte, continuation count and the smallest code point allowed.
    size_t len = 0;
    uint32_t cp = 0, min = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4, cp = c & 0x07, min = 0x10000;
    }
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      ok = (cc & 0xc0) == 0x80;
      cp = (cp << 6) | (cc & 0x3f);
    }
    ok = ok && cp >= min && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out.append("\xef\xbf\xbd");
      ++i;
    }
  }
  out.push_back('"');
}

}  // namespace sirr

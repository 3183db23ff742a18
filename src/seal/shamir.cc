#include "seal/shamir.h"

#include <array>
#include <cctype>
#include <set>

#include "base/encoding.h"

namespace sirr::seal {
namespace {

constexpr size_t kBytes = 32;
// GF(2^256) element: bit k of limb k/64 is the coefficient of x^k.
using Gf = std::array<uint64_t, 4>;
constexpr uint64_t kReduction = (1u << 10) | (1u << 5) | (1u << 2) | 1u;  // x^10+x^5+x^2+1

Gf FromBe(std::span<const uint8_t> b) {
  Gf v{};
  for (size_t i = 0; i < kBytes; ++i) {
    const size_t weight = kBytes - 1 - i;
    v[weight / 8] |= static_cast<uint64_t>(b[i]) << (8 * (weight % 8));
  }
  return v;
}
SecretBytes ToBe(const Gf& v) {
  SecretBytes out(kBytes);
  auto o = out.reveal_mut();
  for (size_t i = 0; i < kBytes; ++i) {
    const size_t weight = kBytes - 1 - i;
    o[i] = static_cast<uint8_t>(v[weight / 8] >> (8 * (weight % 8)));
  }
  return out;
}
Gf Small(uint64_t v) { return Gf{v, 0, 0, 0}; }
void Xor(Gf& a, const Gf& b) {
  for (int i = 0; i < 4; ++i) a[i] ^= b[i];
}
void Wipe(Gf& a) { SecureWipe(a.data(), sizeof(a)); }

// Carry-less product modulo the field polynomial, constant time: for each bit of b, add a
// masked copy of a, then multiply a by x (shift, and reduce by mask of the bit shifted out).
Gf Mul(Gf a, const Gf& b) {
  Gf z{};
  for (int bit = 0; bit < 256; ++bit) {
    const uint64_t take = 0 - ((b[bit / 64] >> (bit % 64)) & 1);
    for (int i = 0; i < 4; ++i) z[i] ^= a[i] & take;
    const uint64_t carry = 0 - (a[3] >> 63);
    a[3] = (a[3] << 1) | (a[2] >> 63);
    a[2] = (a[2] << 1) | (a[1] >> 63);
    a[1] = (a[1] << 1) | (a[0] >> 63);
    a[0] = (a[0] << 1) ^ (kReduction & carry);
  }
  Wipe(a);
  return z;
}

// a^(2^256 - 2) = a^-1 (public values only: share indices and their differences).
Gf Inverse(Gf a) {
  Gf r = Small(1);
  for (int i = 0; i < 255; ++i) {  // exponent bits 1..255 are 1, bit 0 is 0
    a = Mul(a, a);
    r = Mul(r, a);
  }
  return r;
}

// ssss's diffusion layer: the 32-byte block as 16 16-bit words (least significant first,
// big-endian within a word), then XTEA on the 8 bytes at offsets i, i+1, ... (mod 32) for
// i = 0, 2, ..., 1278 (encode) or in reverse with XTEA decryption (decode).
constexpr uint32_t kDelta = 0x9E3779B9;
constexpr int kXteaSteps = 40 * static_cast<int>(kBytes);

Gf Diffuse(const Gf& x, bool encode) {
  std::array<uint8_t, kBytes> v;
  for (size_t k = 0; k < kBytes / 2; ++k) {
    const uint16_t w = static_cast<uint16_t>(x[k / 4] >> (16 * (k % 4)));
    v[2 * k] = static_cast<uint8_t>(w >> 8);
    v[2 * k + 1] = static_cast<uint8_t>(w);
  }
  auto window = [&](int i, bool enc) {
    uint32_t a = 0, b = 0;
    for (int j = 0; j < 4; ++j) a = (a << 8) | v[(i + j) % kBytes];
    for (int j = 4; j < 8; ++j) b = (b << 8) | v[(i + j) % kBytes];
    if (enc) {
      uint32_t sum = 0;
      for (int r = 0; r < 32; ++r) {
        a += (((b << 4) ^ (b >> 5)) + b) ^ sum;
        sum += kDelta;
        b += (((a << 4) ^ (a >> 5)) + a) ^ sum;
      }
    } else {
      uint32_t sum = kDelta * 32;
      for (int r = 0; r < 32; ++r) {
        b -= (((a << 4) ^ (a >> 5)) + a) ^ sum;
        sum -= kDelta;
        a -= (((b << 4) ^ (b >> 5)) + b) ^ sum;
      }
    }
    for (int j = 0; j < 4; ++j) v[(i + j) % kBytes] = static_cast<uint8_t>(a >> (24 - 8 * j));
    for (int j = 0; j < 4; ++j) v[(i + 4 + j) % kBytes] = static_cast<uint8_t>(b >> (24 - 8 * j));
  };
  if (encode) {
    for (int i = 0; i < kXteaSteps; i += 2) window(i, true);
  } else {
    for (int i = kXteaSteps - 2; i >= 0; i -= 2) window(i, false);
  }
  Gf out{};
  for (size_t k = 0; k < kBytes / 2; ++k) {
    const uint64_t w = (static_cast<uint64_t>(v[2 * k]) << 8) | v[2 * k + 1];
    out[k / 4] |= w << (16 * (k % 4));
  }
  SecureWipe(v.data(), v.size());
  return out;
}

// f(i) for the monic polynomial with coefficients c (c[0] the diffused key), by Horner from x.
Gf Evaluate(const std::vector<Gf>& c, uint64_t i) {
  const Gf x = Small(i);
  Gf y = x;
  for (size_t k = c.size() - 1; k >= 1; --k) {
    Xor(y, c[k]);
    y = Mul(y, x);
  }
  Xor(y, c[0]);
  return y;
}

Gf PowSmall(uint64_t base, int exponent) {
  Gf r = Small(1);
  for (int k = 0; k < exponent; ++k) r = Mul(r, Small(base));
  return r;
}

// The degree < t polynomial through the given points (after the x^t term is removed), at x0.
Gf Interpolate(const std::vector<std::pair<int, Gf>>& points, uint64_t x0) {
  Gf sum{};
  for (size_t j = 0; j < points.size(); ++j) {
    Gf num = Small(1), den = Small(1);
    for (size_t m = 0; m < points.size(); ++m) {
      if (m == j) continue;
      num = Mul(num, Small(x0 ^ static_cast<uint64_t>(points[m].first)));
      den = Mul(den, Small(static_cast<uint64_t>(points[j].first ^ points[m].first)));
    }
    Gf term = Mul(points[j].second, Mul(num, Inverse(den)));
    Xor(sum, term);
    Wipe(term);
  }
  return sum;
}

}  // namespace

StatusOr<std::vector<Share>> ShamirSplit(const SecretBytes& key, int threshold, int count,
                                         Random& random) {
  if (key.size() != kBytes) return InvalidArgumentError("the key to split must be 32 bytes");
  if (threshold < 2 || threshold > kShamirMaxShares)
    return InvalidArgumentError("the threshold must be between 2 and 255");
  if (count < threshold || count > kShamirMaxShares)
    return InvalidArgumentError("the number of shares must be between the threshold and 255");
  std::vector<Gf> c;
  c.push_back(Diffuse(FromBe(key.reveal()), true));
  for (int k = 1; k < threshold; ++k) {
    SecretBytes r = random.RandomSecret(kBytes);
    c.push_back(FromBe(r.reveal()));
  }
  std::vector<Share> shares;
  for (int i = 1; i <= count; ++i) {
    Gf y = Evaluate(c, static_cast<uint64_t>(i));
    shares.push_back(Share{i, ToBe(y)});
    Wipe(y);
  }
  for (auto& g : c) Wipe(g);
  return shares;
}

SecretBytes FormatShare(const Share& share, int count) {
  std::string index = std::to_string(share.index);
  const size_t width = std::to_string(count).size();
  if (index.size() < width) index.insert(0, width - index.size(), '0');
  SecretBytes out(sirr::AsBytes(index + "-"));
  SecretBytes hex = HexEncodeSecret(share.value.reveal());
  out.Append(hex.reveal());
  return out;
}

StatusOr<Share> ParseShare(std::string_view line) {
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())))
    line.remove_suffix(1);
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front())))
    line.remove_prefix(1);
  const size_t dash = line.rfind('-');
  if (dash == std::string_view::npos || dash == 0)
    return InvalidArgumentError("a share is INDEX-HEX (as ssss-split prints it)");
  std::string_view hex = line.substr(dash + 1);
  std::string_view head = line.substr(0, dash);
  const size_t token_dash = head.rfind('-');
  std::string_view index =
      token_dash == std::string_view::npos ? head : head.substr(token_dash + 1);
  if (index.empty() || index.size() > 3 ||
      index.find_first_not_of("0123456789") != std::string_view::npos)
    return InvalidArgumentError("a share's index must be a number from 1 to 255");
  const int i = std::stoi(std::string(index));
  if (i < 1 || i > kShamirMaxShares)
    return InvalidArgumentError("a share's index must be a number from 1 to 255");
  if (hex.size() != 2 * kBytes)
    return InvalidArgumentError("share " + std::to_string(i) + " has " +
                                std::to_string(hex.size() * 4) +
                                " bits; a master key share has 256 (64 hex digits)");
  auto value = HexDecodeSecret(hex);
  if (!value.ok())
    return InvalidArgumentError("share " + std::to_string(i) + " is not hexadecimal");
  return Share{i, std::move(value).value()};
}

StatusOr<SecretBytes> ShamirCombine(const std::vector<Share>& shares, int threshold) {
  if (threshold < 2 || threshold > kShamirMaxShares)
    return InvalidArgumentError("the threshold must be between 2 and 255");
  if (static_cast<int>(shares.size()) < threshold)
    return InvalidArgumentError("need " + std::to_string(threshold) + " shares, got " +
                                std::to_string(shares.size()));
  std::set<int> seen;
  for (const auto& s : shares) {
    if (s.index < 1 || s.index > kShamirMaxShares)
      return InvalidArgumentError("a share's index must be a number from 1 to 255");
    if (s.value.size() != kBytes)
      return InvalidArgumentError("shares have different sizes; master key shares are 256 bits");
    if (!seen.insert(s.index).second)
      return InvalidArgumentError("share " + std::to_string(s.index) + " is given twice");
  }
  // Remove the monic x^t term, then interpolate the first t points at 0.
  std::vector<std::pair<int, Gf>> points;
  for (const auto& s : shares) {
    Gf y = FromBe(s.value.reveal());
    Xor(y, PowSmall(static_cast<uint64_t>(s.index), threshold));
    points.emplace_back(s.index, y);
  }
  std::vector<std::pair<int, Gf>> first(points.begin(), points.begin() + threshold);
  // Extra shares must lie on the same polynomial (a tampered or foreign share otherwise
  // silently yields a different key).
  bool consistent = true;
  for (size_t k = threshold; k < points.size(); ++k) {
    Gf expect = Interpolate(first, static_cast<uint64_t>(points[k].first));
    uint64_t diff = 0;
    for (int i = 0; i < 4; ++i) diff |= expect[i] ^ points[k].second[i];
    consistent = consistent && diff == 0;
    Wipe(expect);
  }
  Gf c0 = Interpolate(first, 0);
  for (auto& p : points) Wipe(p.second);
  for (auto& p : first) Wipe(p.second);
  if (!consistent) {
    Wipe(c0);
    return InvalidArgumentError(
        "the shares are inconsistent: they do not all belong to one split (a share is wrong, "
        "or from another key)");
  }
  Gf key = Diffuse(c0, false);
  Wipe(c0);
  SecretBytes out = ToBe(key);
  Wipe(key);
  return out;
}

}  // namespace sirr::seal

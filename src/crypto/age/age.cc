// age v1 (C2SP age.md): header, X25519 and scrypt stanzas, header MAC, STREAM payload, armor.

#include "crypto/age/age.h"

#include <sodium.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>

#include "base/encoding.h"
#include "crypto/crypto.h"

namespace sirr::crypto::age {
namespace {

constexpr std::string_view kVersionLine = "age-encryption.org/v1";
constexpr std::string_view kX25519Info = "age-encryption.org/v1/X25519";
constexpr std::string_view kScryptLabel = "age-encryption.org/v1/scrypt";
constexpr std::string_view kRecipientHrp = "age";
constexpr std::string_view kIdentityHrp = "age-secret-key-";
constexpr size_t kFileKeySize = 16;
constexpr size_t kTagSize = crypto_aead_chacha20poly1305_ietf_ABYTES;
constexpr size_t kNonceSize = 16;
constexpr size_t kColumns = 64;  // stanza bodies and armor lines

Status ArmorError(std::string_view what) {
  return InvalidArgumentError("age: armor: " + std::string(what));
}
Status HeaderError(std::string_view what) {
  return InvalidArgumentError("age: header: " + std::string(what));
}
Status PayloadError(std::string_view what) {
  return InvalidArgumentError("age: payload: " + std::string(what));
}
Status NoMatchError() {
  return InvalidArgumentError("age: no identity matched any of the recipients");
}

// --- Bech32 (BIP 173; age uses the original checksum constant 1, no length limit).

constexpr char kBech32Charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

uint32_t Bech32Polymod(const std::vector<uint8_t>& values) {
  static constexpr uint32_t kGen[] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
  uint32_t chk = 1;
  for (uint8_t v : values) {
    uint32_t top = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (int i = 0; i < 5; ++i)
      if ((top >> i) & 1) chk ^= kGen[i];
  }
  return chk;
}

std::vector<uint8_t> HrpExpand(std::string_view hrp) {
  std::vector<uint8_t> out;
  for (char c : hrp) out.push_back(static_cast<uint8_t>(c) >> 5);
  out.push_back(0);
  for (char c : hrp) out.push_back(static_cast<uint8_t>(c) & 31);
  return out;
}

// Regroups bits; `pad` for 8->5. Returns false on non-zero padding or excess bits (5->8).
bool ConvertBits(std::span<const uint8_t> in, int from, int to, bool pad,
                 std::vector<uint8_t>& out) {
  uint32_t acc = 0;
  int bits = 0;
  const uint32_t maxv = (1u << to) - 1;
  for (uint8_t v : in) {
    acc = (acc << from) | v;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push_back(static_cast<uint8_t>((acc >> bits) & maxv));
    }
  }
  if (pad) {
    if (bits > 0) out.push_back(static_cast<uint8_t>((acc << (to - bits)) & maxv));
  } else if (bits >= from || ((acc << (to - bits)) & maxv) != 0) {
    return false;
  }
  return true;
}

std::string Bech32Encode(std::string_view hrp, std::span<const uint8_t> data) {
  std::vector<uint8_t> values;
  ConvertBits(data, 8, 5, true, values);
  std::vector<uint8_t> check = HrpExpand(hrp);
  check.insert(check.end(), values.begin(), values.end());
  check.resize(check.size() + 6, 0);
  uint32_t mod = Bech32Polymod(check) ^ 1;
  std::string out(hrp);
  out.push_back('1');
  for (uint8_t v : values) out.push_back(kBech32Charset[v]);
  for (int i = 0; i < 6; ++i) out.push_back(kBech32Charset[(mod >> (5 * (5 - i))) & 31]);
  SecureWipe(values.data(), values.size());  // an identity's key, regrouped
  SecureWipe(check.data(), check.size());
  return out;
}

// Decodes into the lower-case HRP and the 8-bit data. Mixed case is refused.
Status Bech32Decode(std::string_view text, std::string& hrp, std::vector<uint8_t>& data) {
  bool lower = false, upper = false;
  for (char c : text) {
    if (c < 33 || c > 126) return InvalidArgumentError("invalid character");
    lower |= (c >= 'a' && c <= 'z');
    upper |= (c >= 'A' && c <= 'Z');
  }
  if (lower && upper) return InvalidArgumentError("mixed case");
  size_t sep = text.rfind('1');
  if (sep == std::string_view::npos || sep == 0 || sep + 7 > text.size())
    return InvalidArgumentError("not Bech32");
  hrp.clear();
  for (char c : text.substr(0, sep)) hrp.push_back(static_cast<char>(std::tolower(c)));
  std::vector<uint8_t> values;
  for (char c : text.substr(sep + 1)) {
    const char* p = std::strchr(kBech32Charset, std::tolower(c));
    if (p == nullptr || *p == '\0') return InvalidArgumentError("invalid Bech32 character");
    values.push_back(static_cast<uint8_t>(p - kBech32Charset));
  }
  std::vector<uint8_t> check = HrpExpand(hrp);
  check.insert(check.end(), values.begin(), values.end());
  if (Bech32Polymod(check) != 1) return InvalidArgumentError("bad Bech32 checksum");
  data.clear();
  bool ok = ConvertBits(std::span(values).first(values.size() - 6), 5, 8, false, data);
  SecureWipe(values.data(), values.size());
  SecureWipe(check.data(), check.size());
  if (!ok) return InvalidArgumentError("bad Bech32 padding");
  return OkStatus();
}

// --- small primitives

// Unpadded canonical standard base64 (stanza arguments, bodies, the MAC).
StatusOr<Bytes> DecodeRawB64(std::string_view s) {
  if (s.find('=') != std::string_view::npos) return HeaderError("base64 with padding");
  auto b = Base64Decode(s);
  if (!b.ok()) return HeaderError("invalid base64");
  return b;
}
std::string EncodeRawB64(std::span<const uint8_t> data) {
  std::string s = Base64Encode(data);
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

SecretBytes Hkdf(const SecretBytes& ikm, std::span<const uint8_t> salt, std::string_view info) {
  auto out = HkdfSha256(ikm, salt, info, 32);
  if (!out.ok()) std::abort();  // OpenSSL's HKDF cannot fail on these inputs
  return std::move(*out);
}

// ChaCha20-Poly1305 with a zero nonce (stanza bodies: each wrap key is used once).
Bytes WrapFileKey(const SecretBytes& wrap_key, const SecretBytes& file_key) {
  static const uint8_t kZero[12] = {};
  Bytes body(kFileKeySize + kTagSize);
  unsigned long long len = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(body.data(), &len, file_key.reveal().data(),
                                            kFileKeySize, nullptr, 0, nullptr, kZero,
                                            wrap_key.reveal().data());
  return body;
}
std::optional<SecretBytes> UnwrapFileKey(const SecretBytes& wrap_key,
                                         std::span<const uint8_t> body) {
  static const uint8_t kZero[12] = {};
  SecretBytes key(kFileKeySize);
  unsigned long long len = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(key.reveal_mut().data(), &len, nullptr, body.data(),
                                                body.size(), nullptr, 0, kZero,
                                                wrap_key.reveal().data()) != 0)
    return std::nullopt;
  return key;
}

StatusOr<SecretBytes> ScryptKey(const SecretBytes& passphrase, std::span<const uint8_t> salt,
                                int log_n) {
  Bytes full_salt(kScryptLabel.begin(), kScryptLabel.end());
  full_salt.insert(full_salt.end(), salt.begin(), salt.end());
  SecretBytes key(32);
  if (crypto_pwhash_scryptsalsa208sha256_ll(
          passphrase.reveal().data(), passphrase.size(), full_salt.data(), full_salt.size(),
          uint64_t{1} << log_n, 8, 1, key.reveal_mut().data(), 32) != 0)
    return ResourceExhaustedError("age: scrypt failed (out of memory?)");
  return key;
}

bool AllZero(std::span<const uint8_t> b) {
  uint8_t acc = 0;
  for (uint8_t v : b) acc |= v;
  return acc == 0;
}

// --- header model

struct Stanza {
  std::vector<std::string> args;  // args[0] is the type
  Bytes body;
};

struct Header {
  std::vector<Stanza> stanzas;
  size_t mac_input_end = 0;  // bytes covered by the MAC: through the "---"
  Bytes mac;
  size_t payload_begin = 0;
};

std::string EncodeStanza(const Stanza& s) {
  std::string out = "->";
  for (const auto& a : s.args) out += " " + a;
  out += "\n";
  std::string b = EncodeRawB64(s.body);
  for (size_t i = 0; i <= b.size(); i += kColumns) {
    out += b.substr(i, std::min(kColumns, b.size() - i));
    out += "\n";
    if (b.size() - i < kColumns) break;
  }
  return out;
}

bool ValidArg(std::string_view a) {
  if (a.empty()) return false;
  return std::all_of(a.begin(), a.end(), [](char c) { return c >= 33 && c <= 126; });
}

// Reads one '\n'-terminated line starting at `pos`; false at EOF without a newline.
bool NextLine(std::span<const uint8_t> in, size_t& pos, std::string_view& line) {
  auto begin = in.begin() + static_cast<std::ptrdiff_t>(pos);
  auto nl = std::find(begin, in.end(), '\n');
  if (nl == in.end()) return false;
  line = std::string_view(reinterpret_cast<const char*>(&*begin), static_cast<size_t>(nl - begin));
  pos = static_cast<size_t>(nl - in.begin()) + 1;
  return true;
}

StatusOr<Header> ParseHeader(std::span<const uint8_t> in) {
  Header h;
  size_t pos = 0;
  std::string_view line;
  if (!NextLine(in, pos, line)) return HeaderError("no version line");
  if (line != kVersionLine) {
    if (line.starts_with("age-encryption.org/"))
      return HeaderError("unsupported version " + std::string(line.substr(0, 40)));
    return HeaderError("not an age file");
  }
  for (;;) {
    size_t line_start = pos;
    if (!NextLine(in, pos, line)) return HeaderError("truncated header");
    if (line.starts_with("---")) {
      // "--- " + base64(32-byte MAC)
      if (line.size() < 4 || line[3] != ' ') return HeaderError("malformed MAC line");
      std::string_view b64 = line.substr(4);
      if (b64.size() != 43) return HeaderError("malformed MAC");
      SIRR_ASSIGN_OR_RETURN(h.mac, DecodeRawB64(b64));
      h.mac_input_end = line_start + 3;
      h.payload_begin = pos;
      return h;
    }
    if (!line.starts_with("-> ")) return HeaderError("malformed stanza line");
    Stanza s;
    std::string_view rest = line.substr(3);
    for (;;) {
      size_t sp = rest.find(' ');
      std::string_view arg = rest.substr(0, sp);
      if (!ValidArg(arg)) return HeaderError("malformed stanza argument");
      s.args.emplace_back(arg);
      if (sp == std::string_view::npos) break;
      rest = rest.substr(sp + 1);
    }
    for (;;) {
      if (!NextLine(in, pos, line)) return HeaderError("truncated stanza body");
      if (line.size() > kColumns) return HeaderError("stanza body line too long");
      SIRR_ASSIGN_OR_RETURN(Bytes part, DecodeRawB64(line));
      s.body.insert(s.body.end(), part.begin(), part.end());
      if (line.size() < kColumns) break;
    }
    h.stanzas.push_back(std::move(s));
  }
}

// The file key from the stanzas, or the no-match / header error.
StatusOr<SecretBytes> UnwrapHeader(const Header& h, const Identities& ids) {
  bool has_scrypt = false;
  for (const auto& s : h.stanzas) has_scrypt |= s.args[0] == "scrypt";
  if (has_scrypt && h.stanzas.size() != 1)
    return HeaderError("an scrypt stanza must be the only stanza");
  std::vector<Recipient> mine;  // each identity's public key, computed once
  for (const auto& id : ids.x25519) mine.push_back(ToRecipient(id));
  for (const auto& s : h.stanzas) {
    if (s.args[0] == "X25519") {
      if (s.args.size() != 2) return HeaderError("malformed X25519 stanza");
      SIRR_ASSIGN_OR_RETURN(Bytes share, DecodeRawB64(s.args[1]));
      if (share.size() != 32) return HeaderError("malformed X25519 share");
      if (s.body.size() != kFileKeySize + kTagSize) return HeaderError("malformed X25519 body");
      for (size_t i = 0; i < ids.x25519.size(); ++i) {
        SecretBytes shared(32);
        if (crypto_scalarmult(shared.reveal_mut().data(), ids.x25519[i].private_key.reveal().data(),
                              share.data()) != 0 ||
            AllZero(shared.reveal()))
          return HeaderError("X25519 share is a low-order point");
        Bytes salt(share);
        salt.insert(salt.end(), mine[i].public_key.begin(), mine[i].public_key.end());
        SecretBytes wrap = Hkdf(shared, salt, kX25519Info);
        if (auto key = UnwrapFileKey(wrap, s.body)) return std::move(*key);
      }
    } else if (s.args[0] == "scrypt") {
      if (s.args.size() != 3) return HeaderError("malformed scrypt stanza");
      SIRR_ASSIGN_OR_RETURN(Bytes salt, DecodeRawB64(s.args[1]));
      if (salt.size() != 16) return HeaderError("malformed scrypt salt");
      const std::string& wf = s.args[2];
      int log_n = 0;
      auto [p, ec] = std::from_chars(wf.data(), wf.data() + wf.size(), log_n);
      if (ec != std::errc() || p != wf.data() + wf.size() || wf[0] == '0' || log_n <= 0 ||
          log_n >= 64)
        return HeaderError("malformed scrypt work factor");
      if (s.body.size() != kFileKeySize + kTagSize) return HeaderError("malformed scrypt body");
      if (!ids.passphrase) continue;
      if (log_n > ids.max_scrypt_log_n)
        return HeaderError("scrypt work factor " + wf + " is above the limit " +
                           std::to_string(ids.max_scrypt_log_n));
      SIRR_ASSIGN_OR_RETURN(SecretBytes wrap, ScryptKey(*ids.passphrase, salt, log_n));
      if (auto key = UnwrapFileKey(wrap, s.body)) return std::move(*key);
      return InvalidArgumentError("age: incorrect passphrase");
    }
    // Other stanza types (ssh-ed25519, plugins, grease) are skipped: not ours to open.
  }
  if (h.stanzas.empty()) return HeaderError("no recipient stanzas");
  return NoMatchError();
}

// --- armor

bool IsSpace(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

StatusOr<Bytes> Dearmor(std::span<const uint8_t> in) {
  size_t pos = 0;
  while (pos < in.size() && IsSpace(in[pos]) && pos < 1024) ++pos;
  auto next = [&](std::string_view& line) -> bool {
    if (!NextLine(in, pos, line)) {
      if (pos >= in.size()) return false;
      // Last line without a newline.
      line = std::string_view(reinterpret_cast<const char*>(in.data() + pos), in.size() - pos);
      pos = in.size();
    }
    if (line.ends_with('\r')) line.remove_suffix(1);
    return true;
  };
  std::string_view line;
  if (!next(line) || line != kArmorBegin) return ArmorError("missing BEGIN line");
  Bytes out;
  bool last = false;
  for (;;) {
    if (!next(line)) return ArmorError("missing END line");
    if (line == kArmorEnd) break;
    if (last) return ArmorError("invalid closing line");
    if (line.empty()) return ArmorError("empty line");
    if (line.size() > kColumns) return ArmorError("line longer than 64 columns");
    if (line.size() % 4 != 0) return ArmorError("invalid base64 line");
    auto part = Base64Decode(line);
    if (!part.ok()) return ArmorError("invalid base64");
    out.insert(out.end(), part->begin(), part->end());
    if (line.size() < kColumns) last = true;
  }
  std::span<const uint8_t> tail = in.subspan(pos);
  if (tail.size() >= 1024) return ArmorError("too much trailing whitespace");
  if (!std::all_of(tail.begin(), tail.end(), IsSpace)) return ArmorError("data after END line");
  return out;
}

// A sink that writes the armor: BEGIN line, base64 lines of 64 columns (48 bytes), END line.
class ArmorSink {
 public:
  explicit ArmorSink(Sink out) : out_(std::move(out)) {
    std::string begin = std::string(kArmorBegin) + "\n";
    out_(AsBytes(begin));
  }
  void Write(std::span<const uint8_t> data) {
    pending_.insert(pending_.end(), data.begin(), data.end());
    size_t full = pending_.size() / 48 * 48;
    if (full == 0) return;
    std::string text;
    for (size_t i = 0; i < full; i += 48)
      text += Base64Encode(std::span(pending_).subspan(i, 48)) + "\n";
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(full));
    out_(AsBytes(text));
  }
  void Close() {
    std::string text;
    if (!pending_.empty()) text = Base64Encode(pending_) + "\n";
    text += std::string(kArmorEnd) + "\n";
    out_(AsBytes(text));
  }

 private:
  Sink out_;
  Bytes pending_;
};

void ChunkNonce(uint64_t counter, bool last, uint8_t nonce[12]) {
  std::memset(nonce, 0, 12);
  for (int i = 0; i < 8; ++i) nonce[10 - i] = static_cast<uint8_t>(counter >> (8 * i));
  nonce[11] = last ? 1 : 0;
}

}  // namespace

// --- keys

StatusOr<Recipient> ParseRecipient(std::string_view text) {
  std::string hrp;
  std::vector<uint8_t> data;
  if (!text.starts_with("age1"))
    return InvalidArgumentError(
        "not an age X25519 recipient (want age1…; ssh keys and plugins "
        "are not supported)");
  if (!Bech32Decode(text, hrp, data).ok() || hrp != kRecipientHrp || data.size() != 32 ||
      text != Bech32Encode(kRecipientHrp, data))
    return InvalidArgumentError("malformed age recipient (bad Bech32 or length)");
  Recipient r;
  std::copy(data.begin(), data.end(), r.public_key.begin());
  return r;
}

std::string FormatRecipient(const Recipient& r) {
  return Bech32Encode(kRecipientHrp, r.public_key);
}

StatusOr<Identity> ParseIdentity(std::string_view text) {
  std::string hrp;
  std::vector<uint8_t> data;
  Status st = Bech32Decode(text, hrp, data);
  Identity id{SecretBytes(data)};
  SecureWipe(data.data(), data.size());
  if (!text.starts_with("AGE-SECRET-KEY-1"))
    return InvalidArgumentError("not an age X25519 identity (want AGE-SECRET-KEY-1…)");
  if (!st.ok() || hrp != kIdentityHrp || id.private_key.size() != 32)
    return InvalidArgumentError("malformed age identity (bad Bech32 or length)");
  return id;
}

SecretBytes FormatIdentity(const Identity& id) {
  std::string s = Bech32Encode(kIdentityHrp, id.private_key.reveal());
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  SecretBytes out(AsBytes(s));
  SecureWipe(s.data(), s.size());
  return out;
}

Identity GenerateIdentity(Random& random) {
  Identity id{SecretBytes(32)};
  random.Fill(id.private_key.reveal_mut());
  return id;
}

Recipient ToRecipient(const Identity& id) {
  Recipient r;
  crypto_scalarmult_base(r.public_key.data(), id.private_key.reveal().data());
  return r;
}

namespace {

// One item per line of a key file (age-keygen's identity files, age -R recipient files):
// blank lines and '#' comments are skipped; an error names the line.
template <typename T>
StatusOr<std::vector<T>> ParseKeyLines(std::string_view text, std::string_view what,
                                       StatusOr<T> (*parse)(std::string_view)) {
  std::vector<T> out;
  int n = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++n;
    if (line.ends_with('\r')) line.remove_suffix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    if (line.empty() || line.starts_with('#')) continue;
    auto item = parse(line);
    if (!item.ok())
      return InvalidArgumentError(std::string(what) + " file line " + std::to_string(n) + ": " +
                                  std::string(item.status().message()));
    out.push_back(std::move(*item));
  }
  if (out.empty()) return InvalidArgumentError("no " + std::string(what) + " in the file");
  return out;
}

}  // namespace

StatusOr<std::vector<Identity>> ParseIdentityFile(std::string_view text) {
  return ParseKeyLines<Identity>(text, "identity", &ParseIdentity);
}

StatusOr<std::vector<Recipient>> ParseRecipientsFile(std::string_view text) {
  return ParseKeyLines<Recipient>(text, "recipients", &ParseRecipient);
}

// --- encryption

struct Encryptor::State {
  Sink out;
  std::unique_ptr<ArmorSink> armor;
  SecretBytes payload_key;
  SecretBytes buffer;  // up to one chunk of plaintext
  size_t buffered = 0;
  uint64_t counter = 0;
  bool closed = false;
  void Emit(std::span<const uint8_t> b) {
    if (armor)
      armor->Write(b);
    else
      out(b);
  }
};

Encryptor::Encryptor(std::unique_ptr<State> state) : s_(std::move(state)) {}
Encryptor::~Encryptor() = default;

namespace {
StatusOr<std::unique_ptr<Encryptor::State>> Start(const SecretBytes& file_key,
                                                  const std::vector<Stanza>& stanzas, bool armor,
                                                  Random& random, Sink out) {
  auto s = std::make_unique<Encryptor::State>();
  s->out = std::move(out);
  if (armor) s->armor = std::make_unique<ArmorSink>(s->out);
  std::string header = std::string(kVersionLine) + "\n";
  for (const auto& st : stanzas) header += EncodeStanza(st);
  header += "---";
  SecretBytes mac_key = Hkdf(file_key, {}, "header");
  auto mac = HmacSha256(mac_key, AsBytes(header));
  header += " " + EncodeRawB64(mac) + "\n";
  s->Emit(AsBytes(header));
  uint8_t nonce[kNonceSize];
  random.Fill(nonce);
  s->Emit(nonce);
  s->payload_key = Hkdf(file_key, nonce, "payload");
  s->buffer = SecretBytes(kChunkSize);
  return s;
}
}  // namespace

StatusOr<std::unique_ptr<Encryptor>> Encryptor::ForRecipients(const std::vector<Recipient>& to,
                                                              bool armor, Random& random,
                                                              Sink out) {
  if (to.empty()) return InvalidArgumentError("age: no recipients");
  SecretBytes file_key(kFileKeySize);
  random.Fill(file_key.reveal_mut());
  std::vector<Stanza> stanzas;
  for (const auto& r : to) {
    SecretBytes eph(32);
    random.Fill(eph.reveal_mut());
    uint8_t share[32];
    crypto_scalarmult_base(share, eph.reveal().data());
    SecretBytes shared(32);
    if (crypto_scalarmult(shared.reveal_mut().data(), eph.reveal().data(), r.public_key.data()) !=
            0 ||
        AllZero(shared.reveal()))
      return InvalidArgumentError("age: recipient is a low-order point");
    Bytes salt(share, share + 32);
    salt.insert(salt.end(), r.public_key.begin(), r.public_key.end());
    SecretBytes wrap = Hkdf(shared, salt, kX25519Info);
    stanzas.push_back(Stanza{{"X25519", EncodeRawB64(std::span<const uint8_t>(share, 32))},
                             WrapFileKey(wrap, file_key)});
  }
  SIRR_ASSIGN_OR_RETURN(auto s, Start(file_key, stanzas, armor, random, std::move(out)));
  return std::unique_ptr<Encryptor>(new Encryptor(std::move(s)));
}

StatusOr<std::unique_ptr<Encryptor>> Encryptor::ForPassphrase(const SecretBytes& passphrase,
                                                              int log_n, bool armor, Random& random,
                                                              Sink out) {
  if (passphrase.empty()) return InvalidArgumentError("age: empty passphrase");
  if (log_n < 1 || log_n > kMaxScryptLogN)
    return InvalidArgumentError("age: scrypt work factor must be 1.." +
                                std::to_string(kMaxScryptLogN));
  SecretBytes file_key(kFileKeySize);
  random.Fill(file_key.reveal_mut());
  uint8_t salt[16];
  random.Fill(salt);
  SIRR_ASSIGN_OR_RETURN(SecretBytes wrap, ScryptKey(passphrase, salt, log_n));
  std::vector<Stanza> stanzas{
      Stanza{{"scrypt", EncodeRawB64(salt), std::to_string(log_n)}, WrapFileKey(wrap, file_key)}};
  SIRR_ASSIGN_OR_RETURN(auto s, Start(file_key, stanzas, armor, random, std::move(out)));
  return std::unique_ptr<Encryptor>(new Encryptor(std::move(s)));
}

void Encryptor::EmitChunk(bool last) {
  uint8_t nonce[12];
  ChunkNonce(s_->counter++, last, nonce);
  Bytes ct(s_->buffered + kTagSize);
  unsigned long long len = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(ct.data(), &len, s_->buffer.reveal().data(),
                                            s_->buffered, nullptr, 0, nullptr, nonce,
                                            s_->payload_key.reveal().data());
  s_->Emit(ct);
  s_->buffered = 0;
}

Status Encryptor::Write(std::span<const uint8_t> plaintext) {
  if (s_->closed) return FailedPreconditionError("age: write after close");
  while (!plaintext.empty()) {
    // A full buffer is flushed only once more data arrives: the last chunk must be marked.
    if (s_->buffered == kChunkSize) EmitChunk(false);
    size_t n = std::min(plaintext.size(), kChunkSize - s_->buffered);
    std::memcpy(s_->buffer.reveal_mut().data() + s_->buffered, plaintext.data(), n);
    s_->buffered += n;
    plaintext = plaintext.subspan(n);
  }
  return OkStatus();
}

Status Encryptor::Close() {
  if (s_->closed) return OkStatus();
  s_->closed = true;
  EmitChunk(true);
  if (s_->armor) s_->armor->Close();
  return OkStatus();
}

// --- decryption

bool IsArmored(std::span<const uint8_t> file) {
  // Not a binary age file, and an armor-like line ("-----") in the first KiB: the armor
  // decoder then says precisely what is wrong with it.
  std::string_view v = kVersionLine;
  if (file.size() > v.size() && std::equal(v.begin(), v.end(), file.begin())) return false;
  std::string_view head(reinterpret_cast<const char*>(file.data()),
                        std::min<size_t>(file.size(), 1024));
  return head.find("-----") != std::string_view::npos;
}

Status Decrypt(std::span<const uint8_t> file, const Identities& ids, const Sink& out) {
  Bytes dearmored;
  if (IsArmored(file)) {
    SIRR_ASSIGN_OR_RETURN(dearmored, Dearmor(file));
    file = dearmored;
  }
  SIRR_ASSIGN_OR_RETURN(Header h, ParseHeader(file));
  SIRR_ASSIGN_OR_RETURN(SecretBytes file_key, UnwrapHeader(h, ids));
  SecretBytes mac_key = Hkdf(file_key, {}, "header");
  auto mac = HmacSha256(mac_key, file.first(h.mac_input_end));
  if (!ConstantTimeEquals(mac, h.mac))
    return InvalidArgumentError(
        "age: header MAC mismatch (the header was changed, or the file "
        "key is wrong)");
  auto payload = file.subspan(h.payload_begin);
  if (payload.size() < kNonceSize) return HeaderError("truncated payload nonce");
  SecretBytes key = Hkdf(file_key, payload.first(kNonceSize), "payload");
  payload = payload.subspan(kNonceSize);
  constexpr size_t kFull = kChunkSize + kTagSize;
  SecretBytes plain(kChunkSize);
  auto open = [&](std::span<const uint8_t> chunk, uint64_t counter, bool last) -> long {
    uint8_t nonce[12];
    ChunkNonce(counter, last, nonce);
    unsigned long long len = 0;
    if (crypto_aead_chacha20poly1305_ietf_decrypt(plain.reveal_mut().data(), &len, nullptr,
                                                  chunk.data(), chunk.size(), nullptr, 0, nonce,
                                                  key.reveal().data()) != 0)
      return -1;
    return static_cast<long>(len);
  };
  for (uint64_t counter = 0;; ++counter) {
    if (payload.empty()) return PayloadError("truncated: no final chunk");
    if (payload.size() < kTagSize) return PayloadError("truncated chunk");
    const auto bad = [&] {
      return PayloadError("chunk " + std::to_string(counter) +
                          " failed authentication (tampered or truncated)");
    };
    if (payload.size() > kFull) {  // a full chunk with more after it
      auto chunk = payload.first(kFull);
      long n = open(chunk, counter, false);
      if (n < 0) {
        if (open(chunk, counter, true) < 0) return bad();
        out(plain.reveal().first(kChunkSize));
        return PayloadError("trailing data after the final chunk");
      }
      out(plain.reveal().first(static_cast<size_t>(n)));
      payload = payload.subspan(kFull);
      continue;
    }
    long n = open(payload, counter, true);
    if (n < 0) {
      if (payload.size() == kFull && open(payload, counter, false) >= 0) {
        out(plain.reveal().first(kChunkSize));
        return PayloadError("truncated: no final chunk");
      }
      return bad();
    }
    if (n == 0 && counter > 0) return PayloadError("empty final chunk after a full chunk");
    out(plain.reveal().first(static_cast<size_t>(n)));
    return OkStatus();
  }
}

ErrorClass ErrorClassOf(const Status& status) {
  if (status.ok()) return ErrorClass::kNone;
  std::string_view m = status.message();
  if (m.starts_with("age: armor: ")) return ErrorClass::kArmor;
  if (m.starts_with("age: header MAC")) return ErrorClass::kHmac;
  if (m.starts_with("age: header: ")) return ErrorClass::kHeader;
  if (m.starts_with("age: no identity matched") || m.starts_with("age: incorrect passphrase"))
    return ErrorClass::kNoMatch;
  if (m.starts_with("age: payload: ")) return ErrorClass::kPayload;
  return ErrorClass::kOther;
}

}  // namespace sirr::crypto::age

#include "seal/pkcs11.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

#include <p11-kit/pkcs11.h>

#include "base/encoding.h"

namespace sirr::seal {
namespace {

constexpr uint8_t kWrappedVersion = 0x01;
constexpr size_t kNonceSize = 12;
constexpr size_t kTagSize = 16;
constexpr size_t kWrappedSize = 1 + kNonceSize + 32 + kTagSize;
constexpr std::string_view kWrappedPrefix = "sirr-pkcs11-wrapped-key-v1:";

std::string Rv(CK_RV rv) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "CKR 0x%08lx", static_cast<unsigned long>(rv));
  switch (rv) {
    case CKR_PIN_INCORRECT:
      return std::string(buf) + " (PIN incorrect)";
    case CKR_PIN_LOCKED:
      return std::string(buf) + " (PIN locked)";
    case CKR_KEY_HANDLE_INVALID:
      return std::string(buf) + " (key handle invalid)";
    case CKR_ENCRYPTED_DATA_INVALID:
    case CKR_GENERAL_ERROR:
      return std::string(buf) + " (decryption failed: wrong HSM key or damaged file)";
    default:
      return buf;
  }
}

std::string AadFor(const std::string& key_label) {
  return "sirr/v1/pkcs11-master-key/" + key_label;
}

// One PKCS#11 module, initialised, with a logged-in session on the labelled token.
class Session {
 public:
  static StatusOr<std::unique_ptr<Session>> Open(const Pkcs11Config& c) {
    if (c.module.empty()) return FailedPreconditionError("SIRR_PKCS11_MODULE is not set");
    if (c.token_label.empty()) return FailedPreconditionError("SIRR_PKCS11_TOKEN_LABEL is not set");
    if (c.key_label.empty()) return FailedPreconditionError("SIRR_PKCS11_KEY_LABEL is not set");
    if (c.pin_file.empty()) return FailedPreconditionError("SIRR_PKCS11_PIN_FILE is not set");
    auto s = std::unique_ptr<Session>(new Session());
    s->lib_ = dlopen(c.module.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (s->lib_ == nullptr)
      return FailedPreconditionError("PKCS#11 module " + c.module + " cannot be loaded");
    auto get_list = reinterpret_cast<CK_C_GetFunctionList>(dlsym(s->lib_, "C_GetFunctionList"));
    if (get_list == nullptr || get_list(&s->f_) != CKR_OK || s->f_ == nullptr)
      return FailedPreconditionError("PKCS#11 module " + c.module + " has no function list");
    CK_C_INITIALIZE_ARGS init{};
    init.flags = CKF_OS_LOCKING_OK;
    CK_RV rv = s->f_->C_Initialize(&init);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
      return UnavailableError("PKCS#11 module " + c.module + ": C_Initialize failed, " + Rv(rv));
    s->initialized_ = rv == CKR_OK;

    CK_ULONG count = 0;
    if ((rv = s->f_->C_GetSlotList(CK_TRUE, nullptr, &count)) != CKR_OK)
      return UnavailableError("PKCS#11: C_GetSlotList failed, " + Rv(rv));
    std::vector<CK_SLOT_ID> slots(count);
    if (count > 0 && (rv = s->f_->C_GetSlotList(CK_TRUE, slots.data(), &count)) != CKR_OK)
      return UnavailableError("PKCS#11: C_GetSlotList failed, " + Rv(rv));
    std::optional<CK_SLOT_ID> slot;
    for (CK_ULONG i = 0; i < count && !slot; ++i) {
      CK_TOKEN_INFO info{};
      if (s->f_->C_GetTokenInfo(slots[i], &info) != CKR_OK) continue;
      std::string label(reinterpret_cast<const char*>(info.label), sizeof(info.label));
      while (!label.empty() && (label.back() == ' ' || label.back() == '\0')) label.pop_back();
      if (label == c.token_label) slot = slots[i];
    }
    if (!slot)
      return NotFoundError("PKCS#11 module " + c.module + ": no token labelled '" + c.token_label +
                           "'");
    rv = s->f_->C_OpenSession(*slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr,
                              &s->session_);
    if (rv != CKR_OK) return UnavailableError("PKCS#11: C_OpenSession failed, " + Rv(rv));
    s->open_ = true;

    SIRR_ASSIGN_OR_RETURN(SecretBytes pin, ReadPin(c.pin_file));
    rv = s->f_->C_Login(s->session_, CKU_USER, const_cast<uint8_t*>(pin.reveal().data()),
                        pin.size());
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
      return PermissionDeniedError("PKCS#11 token '" + c.token_label + "': login failed, " +
                                   Rv(rv) + " (PIN from " + c.pin_file + ")");
    s->logged_in_ = rv == CKR_OK;
    return s;
  }

  ~Session() {
    if (logged_in_) f_->C_Logout(session_);
    if (open_) f_->C_CloseSession(session_);
    if (initialized_) f_->C_Finalize(nullptr);
    if (lib_ != nullptr) dlclose(lib_);
  }

  // The secret key with this label, if any.
  StatusOr<std::optional<CK_OBJECT_HANDLE>> FindKey(const std::string& label) {
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                           {CKA_LABEL, const_cast<char*>(label.data()), label.size()}};
    CK_RV rv = f_->C_FindObjectsInit(session_, tmpl, 2);
    if (rv != CKR_OK) return UnavailableError("PKCS#11: C_FindObjectsInit failed, " + Rv(rv));
    CK_OBJECT_HANDLE handles[2];
    CK_ULONG found = 0;
    rv = f_->C_FindObjects(session_, handles, 2, &found);
    f_->C_FindObjectsFinal(session_);
    if (rv != CKR_OK) return UnavailableError("PKCS#11: C_FindObjects failed, " + Rv(rv));
    if (found > 1)
      return FailedPreconditionError("PKCS#11: more than one secret key is labelled '" + label +
                                     "'");
    if (found == 0) return std::optional<CK_OBJECT_HANDLE>();
    return std::optional<CK_OBJECT_HANDLE>(handles[0]);
  }

  StatusOr<CK_OBJECT_HANDLE> GenerateKey(const std::string& label) {
    CK_MECHANISM mech{CKM_AES_KEY_GEN, nullptr, 0};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_AES;
    CK_ULONG len = 32;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                           {CKA_KEY_TYPE, &type, sizeof(type)},
                           {CKA_VALUE_LEN, &len, sizeof(len)},
                           {CKA_TOKEN, &yes, sizeof(yes)},
                           {CKA_PRIVATE, &yes, sizeof(yes)},
                           {CKA_SENSITIVE, &yes, sizeof(yes)},
                           {CKA_EXTRACTABLE, &no, sizeof(no)},
                           {CKA_ENCRYPT, &yes, sizeof(yes)},
                           {CKA_DECRYPT, &yes, sizeof(yes)},
                           {CKA_WRAP, &no, sizeof(no)},
                           {CKA_LABEL, const_cast<char*>(label.data()), label.size()}};
    CK_OBJECT_HANDLE key = 0;
    CK_RV rv = f_->C_GenerateKey(session_, &mech, tmpl, sizeof(tmpl) / sizeof(tmpl[0]), &key);
    if (rv != CKR_OK) return UnavailableError("PKCS#11: C_GenerateKey failed, " + Rv(rv));
    return key;
  }

  // AES-256-GCM with a 128-bit tag; the output is ciphertext || tag.
  StatusOr<Bytes> GcmEncrypt(CK_OBJECT_HANDLE key, std::span<const uint8_t> nonce,
                             std::span<const uint8_t> plain, const std::string& aad) {
    Bytes out(plain.size() + kTagSize);
    SIRR_ASSIGN_OR_RETURN(size_t n, Gcm(true, key, nonce, plain, aad, out));
    out.resize(n);
    return out;
  }

  StatusOr<SecretBytes> GcmDecrypt(CK_OBJECT_HANDLE key, std::span<const uint8_t> nonce,
                                   std::span<const uint8_t> sealed, const std::string& aad) {
    SecretBytes out(sealed.size());
    SIRR_ASSIGN_OR_RETURN(size_t n, Gcm(false, key, nonce, sealed, aad, out.reveal_mut()));
    out.Truncate(n);
    return out;
  }

 private:
  Session() = default;

  // One single-part CKM_AES_GCM operation into `out`; returns the output length. A failed
  // encryption is Unavailable, a failed decryption PermissionDenied (wrong key or damaged data).
  StatusOr<size_t> Gcm(bool encrypt, CK_OBJECT_HANDLE key, std::span<const uint8_t> nonce,
                       std::span<const uint8_t> in, const std::string& aad,
                       std::span<uint8_t> out) {
    CK_GCM_PARAMS params = GcmParams(nonce, aad);
    CK_MECHANISM mech{CKM_AES_GCM, &params, sizeof(params)};
    const std::string op = encrypt ? "C_Encrypt" : "C_Decrypt";
    CK_RV rv =
        encrypt ? f_->C_EncryptInit(session_, &mech, key) : f_->C_DecryptInit(session_, &mech, key);
    if (rv != CKR_OK) return UnavailableError("PKCS#11: " + op + "Init failed, " + Rv(rv));
    CK_ULONG out_len = out.size();
    auto run = encrypt ? f_->C_Encrypt : f_->C_Decrypt;
    rv = run(session_, const_cast<uint8_t*>(in.data()), in.size(), out.data(), &out_len);
    if (rv != CKR_OK) {
      std::string message = "PKCS#11: " + op + " failed, " + Rv(rv);
      return encrypt ? UnavailableError(std::move(message))
                     : PermissionDeniedError(std::move(message));
    }
    return static_cast<size_t>(out_len);
  }

  static CK_GCM_PARAMS GcmParams(std::span<const uint8_t> nonce, const std::string& aad) {
    CK_GCM_PARAMS p{};
    p.pIv = const_cast<uint8_t*>(nonce.data());
    p.ulIvLen = nonce.size();
    p.ulIvBits = nonce.size() * 8;
    p.pAAD = reinterpret_cast<uint8_t*>(const_cast<char*>(aad.data()));
    p.ulAADLen = aad.size();
    p.ulTagBits = kTagSize * 8;
    return p;
  }

  static StatusOr<SecretBytes> ReadPin(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return PermissionDeniedError("PKCS#11 PIN file " + path +
                                   " cannot be read: " + std::strerror(errno));
    SecretBytes buf(256);
    ssize_t n = ::read(fd, buf.reveal_mut().data(), buf.size());
    ::close(fd);
    if (n < 0) return PermissionDeniedError("PKCS#11 PIN file " + path + " cannot be read");
    size_t len = 0;
    while (len < static_cast<size_t>(n) && buf.reveal()[len] != '\n' && buf.reveal()[len] != '\r')
      ++len;
    if (len == 0) return InvalidArgumentError("PKCS#11 PIN file " + path + " is empty");
    buf.Truncate(len);
    return buf;
  }

  void* lib_ = nullptr;
  CK_FUNCTION_LIST* f_ = nullptr;
  CK_SESSION_HANDLE session_ = 0;
  bool initialized_ = false, open_ = false, logged_in_ = false;
};

StatusOr<Bytes> ReadWrappedFile(const std::string& path) {
  if (path.empty()) return FailedPreconditionError("SIRR_PKCS11_WRAPPED_KEY_FILE is not set");
  std::ifstream in(path);
  if (!in) return NotFoundError("wrapped key file " + path + " cannot be read");
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  if (!line.starts_with(kWrappedPrefix))
    return InvalidArgumentError("wrapped key file " + path + " is not a Sirr PKCS#11 wrapped key");
  auto bytes = Base64Decode(std::string_view(line).substr(kWrappedPrefix.size()));
  if (!bytes.ok() || bytes->size() != kWrappedSize || (*bytes)[0] != kWrappedVersion)
    return InvalidArgumentError("wrapped key file " + path + " is damaged or of another version");
  return std::move(bytes).value();
}

}  // namespace

StatusOr<SecretBytes> Pkcs11UnwrapMasterKey(const Pkcs11Config& c) {
  SIRR_ASSIGN_OR_RETURN(Bytes wrapped, ReadWrappedFile(c.wrapped_key_file));
  SIRR_ASSIGN_OR_RETURN(auto session, Session::Open(c));
  SIRR_ASSIGN_OR_RETURN(auto key, session->FindKey(c.key_label));
  if (!key)
    return NotFoundError("PKCS#11 token '" + c.token_label + "' has no secret key labelled '" +
                         c.key_label + "'");
  std::span<const uint8_t> w(wrapped);
  auto plain = session->GcmDecrypt(*key, w.subspan(1, kNonceSize), w.subspan(1 + kNonceSize),
                                   AadFor(c.key_label));
  if (!plain.ok())
    return PermissionDeniedError("wrapped key file " + c.wrapped_key_file +
                                 " cannot be unwrapped by HSM key '" + c.key_label +
                                 "': " + plain.status().message());
  if (plain->size() != 32)
    return InvalidArgumentError("wrapped key file " + c.wrapped_key_file +
                                " does not hold a 32-byte key");
  return std::move(plain).value();
}

StatusOr<std::string> Pkcs11WrapMasterKey(const Pkcs11Config& c, const SecretBytes& master_key,
                                          const Pkcs11WrapOptions& options, Random& random) {
  if (master_key.size() != 32) return InvalidArgumentError("master key must be 32 bytes");
  if (c.wrapped_key_file.empty())
    return FailedPreconditionError("SIRR_PKCS11_WRAPPED_KEY_FILE is not set");
  if (::access(c.wrapped_key_file.c_str(), F_OK) == 0)
    return AlreadyExistsError("wrapped key file " + c.wrapped_key_file +
                              " already exists; move it away first (it is never overwritten)");
  SIRR_ASSIGN_OR_RETURN(auto session, Session::Open(c));
  SIRR_ASSIGN_OR_RETURN(auto existing, session->FindKey(c.key_label));
  CK_OBJECT_HANDLE key;
  std::string what;
  if (existing) {
    if (!options.reuse_key)
      return AlreadyExistsError("PKCS#11 token '" + c.token_label +
                                "' already has a key labelled '" + c.key_label +
                                "'; pass --reuse-key to wrap under it");
    key = *existing;
    what = "wrapped under the existing HSM key '" + c.key_label + "'";
  } else {
    SIRR_ASSIGN_OR_RETURN(key, session->GenerateKey(c.key_label));
    what = "created non-extractable AES-256 key '" + c.key_label + "' on token '" + c.token_label +
           "' and wrapped the master key under it";
  }
  Bytes out(1 + kNonceSize);
  out[0] = kWrappedVersion;
  random.Fill(std::span<uint8_t>(out).subspan(1, kNonceSize));
  SIRR_ASSIGN_OR_RETURN(Bytes sealed,
                        session->GcmEncrypt(key, std::span<const uint8_t>(out).subspan(1),
                                            master_key.reveal(), AadFor(c.key_label)));
  out.insert(out.end(), sealed.begin(), sealed.end());
  if (out.size() != kWrappedSize) return InternalError("PKCS#11: unexpected ciphertext size");
  // Prove the round trip before anything is written.
  auto check = session->GcmDecrypt(key, std::span<const uint8_t>(out).subspan(1, kNonceSize),
                                   std::span<const uint8_t>(out).subspan(1 + kNonceSize),
                                   AadFor(c.key_label));
  if (!check.ok() || !check->Equals(master_key))
    return InternalError("PKCS#11: the token did not round-trip the wrapped key");
  int fd = ::open(c.wrapped_key_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
  if (fd < 0)
    return UnavailableError("cannot create " + c.wrapped_key_file + ": " + std::strerror(errno));
  std::string text = std::string(kWrappedPrefix) + Base64Encode(out) + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(c.wrapped_key_file.c_str());
    return UnavailableError("cannot write " + c.wrapped_key_file);
  }
  return what + "; wrote " + c.wrapped_key_file;
}

}  // namespace sirr::seal

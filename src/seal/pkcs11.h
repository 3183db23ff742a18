#pragma once

// The PKCS#11 seal provider: the master key is stored on disk only wrapped (AES-256-GCM) by a
// non-extractable AES-256 key that never leaves the HSM. At start-up sirrd asks the token to
// unwrap it. The wrapped-key file format is in docs/formats.md ("PKCS#11 wrapped master key").
//
// Thread safety: the functions are not reentrant (PKCS#11 initialisation is process-global);
// call them from one thread, at start-up or from the operator command.

#include <string>

#include "base/random.h"
#include "base/secret_bytes.h"
#include "base/status.h"

namespace sirr::seal {

struct Pkcs11Config {
  std::string module;            // SIRR_PKCS11_MODULE, e.g. /usr/lib/softhsm/libsofthsm2.so
  std::string token_label;       // SIRR_PKCS11_TOKEN_LABEL
  std::string pin_file;          // SIRR_PKCS11_PIN_FILE (user PIN, first line)
  std::string key_label;         // SIRR_PKCS11_KEY_LABEL
  std::string wrapped_key_file;  // SIRR_PKCS11_WRAPPED_KEY_FILE
};

// Unwraps the master key with the HSM key. Errors name the module, token, key or file and the
// PKCS#11 return code, never key material or the PIN.
StatusOr<SecretBytes> Pkcs11UnwrapMasterKey(const Pkcs11Config& config);

struct Pkcs11WrapOptions {
  bool reuse_key = false;  // wrap under an existing HSM key with the label instead of creating one
};

// Operator command: creates the non-extractable HSM key (CKA_TOKEN, CKA_SENSITIVE, not
// CKA_EXTRACTABLE) unless reuse_key, wraps `master_key` under it and writes the wrapped-key
// file (mode 0400; an existing file is never overwritten). Returns a one-line description.
StatusOr<std::string> Pkcs11WrapMasterKey(const Pkcs11Config& config, const SecretBytes& master_key,
                                          const Pkcs11WrapOptions& options, Random& random);

}  // namespace sirr::seal

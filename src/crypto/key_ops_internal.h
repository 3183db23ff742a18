#pragma once

// Helpers shared by the key operation files (key_ops.cc, key_encrypt.cc). Not a public
// interface.

#include <openssl/evp.h>

#include <memory>

#include "base/secret_bytes.h"
#include "base/status.h"
#include "crypto/key_ops.h"

namespace sirr::crypto::internal {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct CtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, CtxFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// libsodium initialised (aborts if it cannot be).
void EnsureSodium();
// Internal "<what> failed", OpenSSL's error queue cleared.
Status OpenSslError(const char* what);
// A private RSA (PKCS#1) or EC (SEC1) key from its DER material.
StatusOr<Pkey> LoadPrivate(KeySpec spec, const SecretBytes& material);
// The modulus size of an RSA spec; 0 for the others (the spec table).
int RsaBits(KeySpec spec);

}  // namespace sirr::crypto::internal

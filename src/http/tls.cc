#include "http/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace sirr::http {

namespace {

namespace ssl = boost::asio::ssl;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Never prompts for a passphrase (OpenSSL would read the terminal): encrypted keys fail.
int NoPassphrase(char*, int, int, void*) { return 0; }

Status FileError(const std::string& what, const std::string& path, const std::string& problem) {
  return InvalidArgumentError(what + " " + path + ": " + problem);
}

// Opens `path` for reading, or says why it cannot be read (BIO_new_file is fopen: errno).
StatusOr<BioPtr> OpenFile(const std::string& what, const std::string& path) {
  errno = 0;
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  const int err = errno;
  ERR_clear_error();
  if (!bio)
    return FileError(what, path,
                     "cannot read it" + (err ? std::string(": ") + std::strerror(err) : ""));
  return bio;
}

std::string TimeText(const ASN1_TIME* t) {
  BioPtr mem(BIO_new(BIO_s_mem()));
  if (!mem || ASN1_TIME_print(mem.get(), t) != 1) return "?";
  char* data = nullptr;
  long n = BIO_get_mem_data(mem.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Status CheckValidity(const std::string& what, const std::string& path, X509* leaf) {
  if (X509_cmp_current_time(X509_get0_notAfter(leaf)) <= 0)
    return FileError(what, path,
                     "the certificate expired on " + TimeText(X509_get0_notAfter(leaf)));
  if (X509_cmp_current_time(X509_get0_notBefore(leaf)) >= 0)
    return FileError(what, path,
                     "the certificate is not valid before " + TimeText(X509_get0_notBefore(leaf)));
  return OkStatus();
}

constexpr char kTls12Suites[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

Status SetCertificateAndKey(SSL_CTX* h, const TlsFiles& files) {
  const std::string cert_what = "SIRR_TLS_CERT_FILE", key_what = "SIRR_TLS_KEY_FILE";
  SIRR_ASSIGN_OR_RETURN(auto chain, ReadCertificates(cert_what, files.cert_file));
  SIRR_RETURN_IF_ERROR(CheckValidity(cert_what, files.cert_file, chain.front().get()));
  if (SSL_CTX_use_certificate(h, chain.front().get()) != 1) {
    ERR_clear_error();
    return FileError(cert_what, files.cert_file, "OpenSSL refuses the certificate");
  }
  SSL_CTX_clear_chain_certs(h);
  for (size_t i = 1; i < chain.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(h, chain[i].get()) != 1) {
      ERR_clear_error();
      return FileError(cert_what, files.cert_file, "OpenSSL refuses a chain certificate");
    }
  }
  SIRR_ASSIGN_OR_RETURN(BioPtr bio, OpenFile(key_what, files.key_file));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  ERR_clear_error();
  if (!key)
    return FileError(key_what, files.key_file,
                     "no PEM private key in it (an encrypted key is not supported)");
  if (SSL_CTX_use_PrivateKey(h, key.get()) != 1 || SSL_CTX_check_private_key(h) != 1) {
    ERR_clear_error();
    return FileError(key_what, files.key_file,
                     "the key does not match the certificate in " + files.cert_file);
  }
  return OkStatus();
}

Status SetClientCa(SSL_CTX* h, const std::string& path) {
  const std::string what = "SIRR_TLS_CLIENT_CA_FILE";
  SIRR_ASSIGN_OR_RETURN(auto cas, ReadCertificates(what, path));
  X509_STORE* store = SSL_CTX_get_cert_store(h);
  for (auto& ca : cas) {
    if (X509_STORE_add_cert(store, ca.get()) != 1 || SSL_CTX_add_client_CA(h, ca.get()) != 1) {
      ERR_clear_error();
      return FileError(what, path, "OpenSSL refuses a certificate in it");
    }
  }
  SSL_CTX_set_verify(h, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  return OkStatus();
}

}  // namespace

StatusOr<std::vector<X509Ptr>> ReadCertificates(const std::string& what, const std::string& path) {
  SIRR_ASSIGN_OR_RETURN(BioPtr bio, OpenFile(what, path));
  std::vector<X509Ptr> certs;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr))
    certs.emplace_back(x);
  ERR_clear_error();
  if (certs.empty()) return FileError(what, path, "no PEM certificate in it");
  return certs;
}

StatusOr<std::shared_ptr<ssl::context>> MakeTlsServerContext(const TlsFiles& files) {
  if (files.cert_file.empty() || files.key_file.empty())
    return InvalidArgumentError(
        "TLS needs both SIRR_TLS_CERT_FILE and SIRR_TLS_KEY_FILE (or SIRR_TLS_DISABLE=true)");
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* h = ctx->native_handle();
  SSL_CTX_set_min_proto_version(h, TLS1_2_VERSION);
  SSL_CTX_set_options(
      h, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  if (SSL_CTX_set_cipher_list(h, kTls12Suites) != 1) {
    ERR_clear_error();
    return InternalError("OpenSSL has none of the TLS 1.2 AEAD suites");
  }
  SIRR_RETURN_IF_ERROR(SetCertificateAndKey(h, files));
  if (!files.client_ca_file.empty()) SIRR_RETURN_IF_ERROR(SetClientCa(h, files.client_ca_file));
  // Resumption through session tickets only (TLS 1.2 and 1.3): stateless, so no server-side
  // cache to lock, fill and sweep on every handshake; one ticket per handshake is enough for
  // a client that reconnects. The id context is required for resumption once client
  // certificates are verified.
  static const unsigned char kContext[] = "sirrd";
  SSL_CTX_set_session_id_context(h, kContext, sizeof(kContext) - 1);
  SSL_CTX_set_session_cache_mode(h, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(h, 1);
  return ctx;
}

}  // namespace sirr::http

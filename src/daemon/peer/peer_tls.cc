// Fleet TLS for peers; see peer_tls.h.
#include "src/daemon/peer/peer_tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/ssl.hpp>
#include <cstdio>

#include "src/net/tls_subject.h"

namespace openbits::daemon {
namespace {

namespace ssl = boost::asio::ssl;

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct StoreFree {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct StoreCtxFree {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
using UniqueX509 = std::unique_ptr<X509, X509Free>;

Status bad(const char* key, const std::string& path, const std::string& what) {
  return Status(hr::E_INVALIDARG, std::string(key) + " " + path + ": " + what);
}

std::string openssl_error() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "not PEM";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

UniqueX509 read_certificate(const std::string& path) {
  std::unique_ptr<FILE, FileCloser> file(std::fopen(path.c_str(), "re"));
  if (!file) return nullptr;
  return UniqueX509(PEM_read_X509(file.get(), nullptr, nullptr, nullptr));
}

// The certificate against the CA alone, as a peer would check it.
Status verify_against_ca(const PeerTlsFiles& files, X509* cert) {
  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  if (!store || X509_STORE_load_file(store.get(), files.ca_file.c_str()) != 1) {
    return bad("peer_ca_file", files.ca_file, "cannot be loaded: " + openssl_error());
  }
  std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), cert, nullptr) != 1) {
    return bad("peer_cert_file", files.cert_file, "cannot be checked: " + openssl_error());
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    int error = X509_STORE_CTX_get_error(ctx.get());
    return bad(
        "peer_cert_file", files.cert_file,
        std::string("not valid under peer_ca_file: ") + X509_verify_cert_error_string(error));
  }
  return Status();
}

}  // namespace

PeerTlsFiles PeerTlsFiles::from(const Config& config) {
  return {config.peer_ca_file, config.peer_cert_file, config.peer_key_file};
}

Status check_peer_tls_files(const PeerTlsFiles& files) {
  if (!read_certificate(files.ca_file)) {
    return bad("peer_ca_file", files.ca_file, "no PEM certificate can be read");
  }
  UniqueX509 cert = read_certificate(files.cert_file);
  if (!cert) return bad("peer_cert_file", files.cert_file, "no PEM certificate can be read");
  std::unique_ptr<FILE, FileCloser> key_file(std::fopen(files.key_file.c_str(), "re"));
  std::unique_ptr<EVP_PKEY, KeyFree> key(
      key_file ? PEM_read_PrivateKey(key_file.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) return bad("peer_key_file", files.key_file, "no PEM private key can be read");
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return bad("peer_key_file", files.key_file, "is not the key of peer_cert_file");
  }
  return verify_against_ca(files, cert.get());
}

Result<std::unique_ptr<ssl::context>> make_peer_server_tls(const PeerTlsFiles& files) {
  if (Status s = check_peer_tls_files(files); !s.ok()) return s;
  auto tls = std::make_unique<ssl::context>(ssl::context::tls_server);
  tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  SSL_CTX* ctx = tls->native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  boost::system::error_code ec;
  tls->load_verify_file(files.ca_file, ec);
  if (ec) return bad("peer_ca_file", files.ca_file, ec.message());
  tls->use_certificate_chain_file(files.cert_file, ec);
  if (ec) return bad("peer_cert_file", files.cert_file, ec.message());
  tls->use_private_key_file(files.key_file, ssl::context::pem, ec);
  if (ec) return bad("peer_key_file", files.key_file, ec.message());
  if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.ca_file.c_str())) {
    SSL_CTX_set_client_CA_list(ctx, names);  // tells clients which certificate to send
  }
  tls->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  return tls;
}

std::string certificate_subject(const std::string& pem_file) {
  UniqueX509 cert = read_certificate(pem_file);
  return net::certificate_subject(cert.get());
}

}  // namespace openbits::daemon

// Certificate subjects as text; see tls_subject.h.
#include "src/net/tls_subject.h"

#include <openssl/bio.h>
#include <openssl/x509.h>

#include <memory>

namespace openbits::net {

std::string certificate_subject(X509* cert) {
  if (cert == nullptr) return {};
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio) return {};
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

}  // namespace openbits::net

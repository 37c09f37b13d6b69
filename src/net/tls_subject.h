// The subject of an X.509 certificate as text (RFC 2253: "CN=h1,O=fleet"), for logs and
// for what a verified TLS peer is called. Pure; thread-safe.
#pragma once

#include <string>

using X509 = struct x509_st;

namespace openbits::net {

// "" for a null certificate (or when OpenSSL cannot allocate).
std::string certificate_subject(X509* cert);

}  // namespace openbits::net

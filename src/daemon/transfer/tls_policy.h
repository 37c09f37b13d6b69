// A job's TLS choices applied to libcurl's OpenSSL contexts (IBackgroundCopyJobHttpOptions
// security flags, bits-spec §1.4): certificate checks are strict unless the job's flags
// relax one of them (BG_SSL_IGNORE_CERT_DATE_INVALID, _UNKNOWN_CA, _CERT_WRONG_USAGE,
// _CERT_CN_INVALID), each relaxation logged when it lets a certificate through;
// BG_SSL_ENABLE_CRL_CHECK checks the whole chain against the CRLs named in the
// certificates (fetched over HTTP, cached until their nextUpdate), and a revoked
// certificate or an unobtainable CRL fails the file. The policy travels with each TLS
// context (so a pooled connection never outlives what it points to); connections made
// under a relaxed or stricter-than-default policy are never reused by other transfers.
// Runs on the engine thread.
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "openbits/hresult.h"

namespace openbits::daemon {

struct TlsPolicy {
  std::uint32_t flags = 0;  // the job's security flags
  std::string job;          // for log lines
  // Set when the server asked for a client certificate (and the job sent none).
  std::shared_ptr<std::atomic<bool>> client_cert_requested =
      std::make_shared<std::atomic<bool>>(false);
};

// Installs `policy` on an easy handle: the SSL context callback, and no connection reuse
// when the flags change certificate checking.
void apply_tls_policy(CURL* easy, const TlsPolicy& policy);

// The HRESULT for a failed TLS connection, from the certificate verification result
// (CURLINFO_SSL_VERIFYRESULT) and libcurl's code: WINHTTP_SECURE_CERT_DATE_INVALID,
// _CN_INVALID, _INVALID_CA, _CERT_WRONG_USAGE, _CERT_REVOKED, _CERT_REV_FAILED, else
// WINHTTP_SECURE_FAILURE.
HRESULT tls_failure_code(long verify_result, CURLcode code);

}  // namespace openbits::daemon

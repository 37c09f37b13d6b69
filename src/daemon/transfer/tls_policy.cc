// Security flags on OpenSSL contexts, CRL checking; see tls_policy.h.
#include "src/daemon/transfer/tls_policy.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>

#include "openbits/types.h"

namespace openbits::daemon {
namespace {

constexpr std::size_t kMaxCrlBytes = 4 << 20;
constexpr long kCrlTimeoutS = 10;
constexpr std::size_t kMaxCrlUrls = 2;                     // per certificate
constexpr std::size_t kMaxCachedCrls = 64;                 // the soonest to expire goes first
constexpr auto kFailureMemory = std::chrono::seconds(60);  // a CRL that could not be had
constexpr std::uint32_t kRelaxing = kSslIgnoreCertCnInvalid | kSslIgnoreCertDateInvalid |
                                    kSslIgnoreUnknownCa | kSslIgnoreCertWrongUsage;

// ex_data slot of SSL_CTX holding a heap copy of the TlsPolicy, freed with the context.
void free_policy(void*, void* item, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<TlsPolicy*>(item);
}

int policy_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_policy);
  return index;
}

const TlsPolicy* policy_of(X509_STORE_CTX* store) {
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  if (!ssl) return nullptr;
  return static_cast<const TlsPolicy*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), policy_index()));
}

// Each verification error bitsd tells apart: the security flag that lets it through (0:
// none) and the WinHTTP code a failure reports.
struct VerifyError {
  int error;
  std::uint32_t flag;
  HRESULT code;
};
constexpr VerifyError kVerifyErrors[] = {
    {X509_V_ERR_CERT_HAS_EXPIRED, kSslIgnoreCertDateInvalid, hr::WINHTTP_SECURE_CERT_DATE_INVALID},
    {X509_V_ERR_CERT_NOT_YET_VALID, kSslIgnoreCertDateInvalid,
     hr::WINHTTP_SECURE_CERT_DATE_INVALID},
    {X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, kSslIgnoreUnknownCa, hr::WINHTTP_SECURE_INVALID_CA},
    {X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, kSslIgnoreUnknownCa, hr::WINHTTP_SECURE_INVALID_CA},
    {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, kSslIgnoreUnknownCa, hr::WINHTTP_SECURE_INVALID_CA},
    {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, kSslIgnoreUnknownCa,
     hr::WINHTTP_SECURE_INVALID_CA},
    {X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, kSslIgnoreUnknownCa,
     hr::WINHTTP_SECURE_INVALID_CA},
    {X509_V_ERR_CERT_UNTRUSTED, kSslIgnoreUnknownCa, hr::WINHTTP_SECURE_INVALID_CA},
    {X509_V_ERR_INVALID_PURPOSE, kSslIgnoreCertWrongUsage, hr::WINHTTP_SECURE_CERT_WRONG_USAGE},
    {X509_V_ERR_HOSTNAME_MISMATCH, kSslIgnoreCertCnInvalid, hr::WINHTTP_SECURE_CERT_CN_INVALID},
    {X509_V_ERR_IP_ADDRESS_MISMATCH, kSslIgnoreCertCnInvalid, hr::WINHTTP_SECURE_CERT_CN_INVALID},
    {X509_V_ERR_CERT_REVOKED, 0, hr::WINHTTP_SECURE_CERT_REVOKED},
    {X509_V_ERR_UNABLE_TO_GET_CRL, 0, hr::WINHTTP_SECURE_CERT_REV_FAILED},
    {X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER, 0, hr::WINHTTP_SECURE_CERT_REV_FAILED},
    {X509_V_ERR_CRL_HAS_EXPIRED, 0, hr::WINHTTP_SECURE_CERT_REV_FAILED},
    {X509_V_ERR_CRL_NOT_YET_VALID, 0, hr::WINHTTP_SECURE_CERT_REV_FAILED},
    {X509_V_ERR_CRL_SIGNATURE_FAILURE, 0, hr::WINHTTP_SECURE_CERT_REV_FAILED},
    {X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE, 0, hr::WINHTTP_SECURE_CERT_REV_FAILED},
    {X509_V_ERR_DIFFERENT_CRL_SCOPE, 0, hr::WINHTTP_SECURE_CERT_REV_FAILED},
};

const VerifyError* find_verify_error(long error) {
  for (const VerifyError& e : kVerifyErrors) {
    if (e.error == error) return &e;
  }
  return nullptr;
}

int verify(int preverified, X509_STORE_CTX* store) {
  if (preverified) return 1;
  int error = X509_STORE_CTX_get_error(store);
  const TlsPolicy* policy = policy_of(store);
  const VerifyError* known = find_verify_error(error);
  if (!policy || !known || (policy->flags & known->flag) == 0) return 0;
  spdlog::warn("job {}: accepting a certificate despite '{}' (security flags 0x{:x})", policy->job,
               X509_verify_cert_error_string(error), policy->flags);
  X509_STORE_CTX_set_error(store, X509_V_OK);
  return 1;
}

// --- CRLs ------------------------------------------------------------------------------

struct CachedCrl {
  X509_CRL* crl = nullptr;  // null: the fetch failed, not tried again before `until`
  std::chrono::system_clock::time_point until;
};

std::mutex crl_mutex;
std::map<std::string, CachedCrl>& crl_cache() {
  static std::map<std::string, CachedCrl> cache;
  return cache;
}

size_t collect(char* data, size_t size, size_t count, void* user) {
  auto* out = static_cast<std::string*>(user);
  if (out->size() + size * count > kMaxCrlBytes) return 0;
  out->append(data, size * count);
  return size * count;
}

X509_CRL* download_crl(const std::string& url) {
  CURL* easy = curl_easy_init();
  if (!easy) return nullptr;
  std::string body;
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http");
  curl_easy_setopt(easy, CURLOPT_PROXY, "");
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT, kCrlTimeoutS);
  curl_easy_setopt(easy, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
  CURLcode code = curl_easy_perform(easy);
  curl_easy_cleanup(easy);
  if (code != CURLE_OK) {
    spdlog::warn("cannot fetch the CRL {}: {}", url, curl_easy_strerror(code));
    return nullptr;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(body.data());
  X509_CRL* crl = d2i_X509_CRL(nullptr, &p, static_cast<long>(body.size()));
  if (!crl) {
    BIO* bio = BIO_new_mem_buf(body.data(), static_cast<int>(body.size()));
    crl = bio ? PEM_read_bio_X509_CRL(bio, nullptr, nullptr, nullptr) : nullptr;
    BIO_free(bio);
  }
  if (!crl) spdlog::warn("the CRL {} is not a certificate revocation list", url);
  return crl;
}

// A CRL for `url`, from the cache while it is current; a new reference, or null.
X509_CRL* crl_for(const std::string& url) {
  std::lock_guard lock(crl_mutex);
  auto now = std::chrono::system_clock::now();
  auto& cache = crl_cache();
  if (auto it = cache.find(url); it != cache.end()) {
    if (it->second.until > now) {
      if (it->second.crl) X509_CRL_up_ref(it->second.crl);
      return it->second.crl;
    }
    X509_CRL_free(it->second.crl);
    cache.erase(it);
  }
  if (cache.size() >= kMaxCachedCrls) {
    auto soonest = std::min_element(cache.begin(), cache.end(), [](const auto& a, const auto& b) {
      return a.second.until < b.second.until;
    });
    X509_CRL_free(soonest->second.crl);
    cache.erase(soonest);
  }
  X509_CRL* crl = download_crl(url);
  if (!crl) {
    cache[url] = {nullptr, now + kFailureMemory};
    return nullptr;
  }
  auto until = now + std::chrono::hours(1);
  if (const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl)) {
    int days = 0;
    int seconds = 0;
    if (ASN1_TIME_diff(&days, &seconds, nullptr, next) == 1) {
      until = std::min(until, now + std::chrono::seconds(std::int64_t{days} * 86400 + seconds));
    }
  }
  X509_CRL_up_ref(crl);
  cache[url] = {crl, until};
  return crl;
}

// The HTTP URLs of a certificate's CRL distribution points.
std::vector<std::string> crl_urls(X509* cert) {
  std::vector<std::string> urls;
  auto* points = static_cast<STACK_OF(DIST_POINT)*>(
      X509_get_ext_d2i(cert, NID_crl_distribution_points, nullptr, nullptr));
  for (int i = 0; points && i < sk_DIST_POINT_num(points); ++i) {
    DIST_POINT* point = sk_DIST_POINT_value(points, i);
    if (!point->distpoint || point->distpoint->type != 0) continue;
    GENERAL_NAMES* names = point->distpoint->name.fullname;
    for (int k = 0; k < sk_GENERAL_NAME_num(names); ++k) {
      GENERAL_NAME* name = sk_GENERAL_NAME_value(names, k);
      if (name->type != GEN_URI) continue;
      const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
      std::string url(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                      static_cast<std::size_t>(ASN1_STRING_length(uri)));
      if (url.rfind("http://", 0) == 0 && urls.size() < kMaxCrlUrls) urls.push_back(url);
    }
  }
  sk_DIST_POINT_pop_free(points, DIST_POINT_free);
  return urls;
}

// Cached, current CRLs issued by `issuer` (new references): the trust anchor names no
// distribution point, and OpenSSL's whole-chain check asks for its issuer's CRL too, which
// is the CRL its children pointed to.
void push_cached_crls(STACK_OF(X509_CRL) * crls, const X509_NAME* issuer, X509* cert) {
  std::lock_guard lock(crl_mutex);
  auto now = std::chrono::system_clock::now();
  EVP_PKEY* key = X509_get0_pubkey(cert);
  for (auto& [url, cached] : crl_cache()) {
    // Only a CRL this (self-signed) certificate signed: another job's bogus CRL with the
    // same issuer name is never taken.
    if (cached.crl && cached.until > now &&
        X509_NAME_cmp(X509_CRL_get_issuer(cached.crl), issuer) == 0 && key &&
        X509_CRL_verify(cached.crl, key) == 1) {
      X509_CRL_up_ref(cached.crl);
      sk_X509_CRL_push(crls, cached.crl);
    }
  }
}

// X509_STORE lookup_crls: the CRLs of the certificate being checked, from its CDPs.
STACK_OF(X509_CRL) * lookup_crls(const X509_STORE_CTX* store, const X509_NAME* issuer) {
  X509* cert = X509_STORE_CTX_get_current_cert(store);
  STACK_OF(X509_CRL)* crls = sk_X509_CRL_new_null();
  if (!cert || !crls) return crls;
  std::vector<std::string> urls = crl_urls(cert);
  for (const std::string& url : urls) {
    if (X509_CRL* crl = crl_for(url)) sk_X509_CRL_push(crls, crl);
  }
  if (urls.empty() && issuer) push_cached_crls(crls, issuer, cert);
  return crls;
}

int client_cert_wanted(SSL* ssl, X509**, EVP_PKEY**) {
  const auto* policy =
      static_cast<const TlsPolicy*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), policy_index()));
  if (policy) policy->client_cert_requested->store(true);
  return 0;  // no certificate: the job has none
}

CURLcode setup_context(CURL*, void* ssl_ctx, void* user) {
  auto* ctx = static_cast<SSL_CTX*>(ssl_ctx);
  auto* policy = new TlsPolicy(*static_cast<const TlsPolicy*>(user));
  SSL_CTX_set_ex_data(ctx, policy_index(), policy);
  SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), verify);
  SSL_CTX_set_client_cert_cb(ctx, client_cert_wanted);
  if (policy->flags & kSslEnableCrlCheck) {
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    X509_STORE_set_lookup_crls(store, lookup_crls);
  }
  return CURLE_OK;
}

}  // namespace

void apply_tls_policy(CURL* easy, const TlsPolicy& policy) {
  curl_easy_setopt(easy, CURLOPT_SSL_CTX_FUNCTION, setup_context);
  curl_easy_setopt(easy, CURLOPT_SSL_CTX_DATA, &policy);
  // The host name is checked by OpenSSL through libcurl; BG_SSL_IGNORE_CERT_CN_INVALID
  // turns that check off (and verify() logs nothing for it: OpenSSL never reports it).
  if (policy.flags & kSslIgnoreCertCnInvalid) curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
  if (policy.flags & (kRelaxing | kSslEnableCrlCheck)) {
    curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
  }
}

HRESULT tls_failure_code(long verify_result, CURLcode code) {
  if (const VerifyError* known = find_verify_error(verify_result)) return known->code;
  // libcurl's own host name check fails after a chain that verified (it then records
  // X509_V_ERR_UNSPECIFIED as the verification result).
  bool chain_ok = verify_result == X509_V_OK || verify_result == X509_V_ERR_UNSPECIFIED;
  if (chain_ok && code == CURLE_PEER_FAILED_VERIFICATION) {
    return hr::WINHTTP_SECURE_CERT_CN_INVALID;
  }
  return hr::WINHTTP_SECURE_FAILURE;
}

}  // namespace openbits::daemon

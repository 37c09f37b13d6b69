// What every HTTP request of a job carries besides its URL and method: the proxy
// (proxy_config.h), the answer to an authentication challenge (http_auth.h), the TLS policy
// and client certificate (tls_policy.h, cert_store.h), and the failure codes of those.
// Runs on the engine thread.
#include <spdlog/spdlog.h>

#include "openbits/names.h"
#include "src/daemon/security/fs_credentials.h"
#include "src/daemon/transfer/http_headers.h"
#include "src/daemon/transfer/negotiate.h"
#include "src/daemon/transfer/proxy_config.h"
#include "src/daemon/transfer/transfer_internal.h"

namespace openbits::daemon::transfer_detail {
namespace {

constexpr HRESULT kHttp401 = 0x80190191;
constexpr HRESULT kHttp407 = 0x80190197;

const std::string& request_url(const Transfer& t) {
  return t.phase == Transfer::Phase::kUpload ? t.upload_url : t.common().remote_name;
}

std::string host_of(const std::string& url) {
  std::string host;
  CURLU* u = curl_url();
  char* value = nullptr;
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), CURLU_GUESS_SCHEME) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &value, 0) == CURLUE_OK) {
    host = value;
  }
  curl_free(value);
  curl_url_cleanup(u);
  return host;
}

long curl_auth_bit(AuthScheme scheme) {
  switch (scheme) {
    case AuthScheme::kBasic:
      return static_cast<long>(CURLAUTH_BASIC);
    case AuthScheme::kDigest:
      return static_cast<long>(CURLAUTH_DIGEST);
    case AuthScheme::kNtlm:
      return static_cast<long>(CURLAUTH_NTLM);
    default:
      return static_cast<long>(CURLAUTH_NONE);
  }
}

// "Negotiate <token>" for `host` from credential `c`: the owner's tickets (read as the
// owner) or a ticket got with the password.
Result<std::string> negotiate_token(const Transfer& t, const HttpCredential& c,
                                    const std::string& host) {
  if (host.empty()) return Status(hr::E_FAIL, "no host name to ask a ticket for");
  if (c.user_name) return negotiate_authorization_with_password(host, *c.user_name, *c.password);
  ScopedFsCredentials as_owner(t.common().owner);
  if (!as_owner.ok()) return Status(hr::E_FAIL, "cannot assume the owner's identity");
  return negotiate_authorization(host, c.ccache);
}

bool apply_proxy(Transfer& t) {
  auto decision = decide_proxy(t.common().proxy, request_url(t), t.autodetected);
  if (!decision.ok()) {
    t.fail({hr::BG_E_INVALID_PROXY_INFO, ErrorContext::kGeneralTransport, false},
           decision.status().message());
    return false;
  }
  t.proxy_url = decision->proxy;
  curl_easy_setopt(t.easy, CURLOPT_PROXY, t.proxy_url.c_str());  // "" = direct, never env
  curl_easy_setopt(t.easy, CURLOPT_NOPROXY, decision->no_proxy.c_str());
  return true;
}

// Server credentials: libcurl's own Basic/Digest/NTLM, or our Negotiate header appended
// to a copy of `headers`. Returns the header list the request must use.
bool apply_server_auth(Transfer& t, curl_slist*& headers) {
  if (!t.server_auth) return true;
  const HttpCredential& c = t.common().credentials[t.server_auth->credential];
  if (t.server_auth->scheme != AuthScheme::kNegotiate) {
    curl_easy_setopt(t.easy, CURLOPT_HTTPAUTH, curl_auth_bit(t.server_auth->scheme));
    curl_easy_setopt(t.easy, CURLOPT_USERNAME, c.user_name->c_str());
    curl_easy_setopt(t.easy, CURLOPT_PASSWORD, c.password->c_str());
    return true;
  }
  auto token = negotiate_token(t, c, host_of(request_url(t)));
  if (!token.ok()) {
    t.fail({kHttp401, ErrorContext::kRemoteFile, false}, "Negotiate: " + token.status().message());
    return false;
  }
  if (t.auth_headers) curl_slist_free_all(t.auth_headers);
  t.auth_headers = nullptr;
  for (curl_slist* h = headers; h != nullptr; h = h->next) {
    t.auth_headers = curl_slist_append(t.auth_headers, h->data);
  }
  t.auth_headers = curl_slist_append(t.auth_headers, ("Authorization: " + *token).c_str());
  headers = t.auth_headers;
  return true;
}

bool apply_proxy_auth(Transfer& t) {
  if (!t.proxy_auth || t.proxy_url.empty()) return true;
  const HttpCredential& c = t.common().credentials[t.proxy_auth->credential];
  if (t.proxy_auth->scheme != AuthScheme::kNegotiate) {
    curl_easy_setopt(t.easy, CURLOPT_PROXYAUTH, curl_auth_bit(t.proxy_auth->scheme));
    curl_easy_setopt(t.easy, CURLOPT_PROXYUSERNAME, c.user_name->c_str());
    curl_easy_setopt(t.easy, CURLOPT_PROXYPASSWORD, c.password->c_str());
    return true;
  }
  auto token = negotiate_token(t, c, host_of(t.proxy_url));
  if (!token.ok()) {
    t.fail({kHttp407, ErrorContext::kRemoteFile, false}, "Negotiate: " + token.status().message());
    return false;
  }
  if (t.proxy_headers) curl_slist_free_all(t.proxy_headers);
  t.proxy_headers = curl_slist_append(nullptr, ("Proxy-Authorization: " + *token).c_str());
  curl_easy_setopt(t.easy, CURLOPT_HEADEROPT, static_cast<long>(CURLHEADER_SEPARATE));
  curl_easy_setopt(t.easy, CURLOPT_PROXYHEADER, t.proxy_headers);
  return true;
}

bool apply_client_certificate(Transfer& t) {
  if (!t.common().client_certificate) return true;
  if (!t.client_cert) {
    const ClientCertificateRef& ref = *t.common().client_certificate;
    auto found =
        find_client_certificate(t.common().owner, ref.directory, ref.certificate.location,
                                ref.certificate.store_name, ref.certificate.hash, std::nullopt);
    if (!found.ok()) {
      t.fail({found.status().code(), ErrorContext::kGeneralTransport, false},
             "client certificate: " + found.status().message());
      return false;
    }
    t.client_cert = std::move(found).value();
  }
  curl_blob cert{t.client_cert->cert_pem.data(), t.client_cert->cert_pem.size(), CURL_BLOB_NOCOPY};
  curl_blob key{t.client_cert->key_pem.data(), t.client_cert->key_pem.size(), CURL_BLOB_NOCOPY};
  curl_easy_setopt(t.easy, CURLOPT_SSLCERT_BLOB, &cert);
  curl_easy_setopt(t.easy, CURLOPT_SSLCERTTYPE, "PEM");
  curl_easy_setopt(t.easy, CURLOPT_SSLKEY_BLOB, &key);
  curl_easy_setopt(t.easy, CURLOPT_SSLKEYTYPE, "PEM");
  return true;
}

void apply_tls(Transfer& t) {
  t.tls.flags = t.common().security_flags;
  if (t.tls.job.empty()) {  // once per transfer
    t.tls.job = to_string(t.common().job_id);
    if (t.tls.flags & kSslIgnoreCertCnInvalid) {
      spdlog::warn("job {}: server certificates' names are not checked (security flags 0x{:x})",
                   t.tls.job, t.tls.flags);
    }
  }
  apply_tls_policy(t.easy, t.tls);
  if (!t.common().tls_ca_file.empty()) {
    curl_easy_setopt(t.easy, CURLOPT_CAINFO, t.common().tls_ca_file.c_str());
    curl_easy_setopt(t.easy, CURLOPT_PROXY_CAINFO, t.common().tls_ca_file.c_str());
  }
}

}  // namespace

bool apply_request_options(Transfer& t, curl_slist* headers) {
  apply_tls(t);
  if (!apply_proxy(t) || !apply_client_certificate(t) || !apply_server_auth(t, headers) ||
      !apply_proxy_auth(t)) {
    return false;
  }
  // A connection some servers (and proxies, and CONNECT tunnels) consider authenticated as
  // this job's user must never carry another job's request: not pooled after this one.
  bool bound = t.proxy_auth.has_value() ||
               (t.server_auth && t.server_auth->scheme == AuthScheme::kNegotiate);
  if (bound) curl_easy_setopt(t.easy, CURLOPT_FORBID_REUSE, 1L);
  if (headers) curl_easy_setopt(t.easy, CURLOPT_HTTPHEADER, headers);
  return true;
}

bool note_challenge(Transfer& t, const std::string& line) {
  if (auto value = header_value(line, "www-authenticate")) {
    t.server_offers |= offered_schemes(*value);
    return true;
  }
  if (auto value = header_value(line, "proxy-authenticate")) {
    t.proxy_offers |= offered_schemes(*value);
    return true;
  }
  return false;
}

long final_status(const Transfer& t) {
  long status = 0;
  curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
  long connect = 0;
  curl_easy_getinfo(t.easy, CURLINFO_HTTP_CONNECTCODE, &connect);
  if (connect == 407 && (status == 0 || status == 407)) return 407;
  return status;
}

Challenge answer_challenge(Transfer& t, long status) {
  if (status != 401 && status != 407) return Challenge::kNone;
  bool proxy = status == 407;
  std::optional<AuthChoice>& chosen = proxy ? t.proxy_auth : t.server_auth;
  HRESULT code = proxy ? kHttp407 : kHttp401;
  if (chosen) {
    t.fail({code, ErrorContext::kRemoteFile, false},
           std::string(proxy ? "the proxy" : "the server") + " rejected the job's " +
               to_string(chosen->scheme) + " credentials");
    return Challenge::kFailed;
  }
  chosen = choose_credential(proxy ? t.proxy_offers : t.server_offers, t.common().credentials,
                             proxy ? AuthTarget::kProxy : AuthTarget::kServer);
  if (!chosen) {
    t.fail({code, ErrorContext::kRemoteFile, false},
           std::string(proxy ? "the proxy" : "the server") +
               " asks for authentication the job has no credentials for");
    return Challenge::kFailed;
  }
  spdlog::debug("job {}: answering the {} challenge with {}", to_string(t.common().job_id),
                proxy ? "proxy" : "server", to_string(chosen->scheme));
  return Challenge::kRetry;
}

Failure connection_failure(const Transfer& t, CURLcode code) {
  Failure f = classify_curl_error(code);
  if (f.code != hr::WINHTTP_SECURE_FAILURE) return f;
  if (t.tls.client_cert_requested->load() && !t.client_cert) {
    return {hr::WINHTTP_CLIENT_AUTH_CERT_NEEDED, ErrorContext::kRemoteFile, false};
  }
  long verify = 0;
  curl_easy_getinfo(t.easy, CURLINFO_SSL_VERIFYRESULT, &verify);
  return {tls_failure_code(verify, code), ErrorContext::kRemoteFile, false};
}

bool needs_proxy_resolution(const Transfer& t) {
  return t.common().proxy.settings.usage == ProxyUsage::kAutodetect &&
         !t.common().proxy.resolver.empty() && t.autodetected.empty() &&
         !is_file_source(t.common().remote_name);
}

}  // namespace openbits::daemon::transfer_detail

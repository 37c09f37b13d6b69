// Requests to peer servers; see peer_client.h.
#include "src/daemon/peer/peer_client.h"

#include <curl/curl.h>
#include <openssl/ssl.h>

#include <memory>

#include "src/daemon/peer/peer_protocol.h"
#include "src/daemon/transfer/http_headers.h"
#include "src/net/tls_subject.h"

namespace openbits::daemon {
namespace {

struct Exchange {
  std::string subject;
  std::string body;
  std::uint64_t limit = 0;  // body bytes wanted; more is an overflow
  bool overflow = false;
  CURL* curl = nullptr;
};

// The first header line: the handshake is done, the peer's certificate is at hand.
std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  if (exchange->subject.empty()) {
    curl_tlssessioninfo* info = nullptr;
    if (curl_easy_getinfo(exchange->curl, CURLINFO_TLS_SSL_PTR, &info) == CURLE_OK && info &&
        info->backend == CURLSSLBACKEND_OPENSSL && info->internals != nullptr) {
      auto* ssl = static_cast<SSL*>(info->internals);
      exchange->subject = net::certificate_subject(SSL_get0_peer_certificate(ssl));
    }
  }
  (void)data;
  return size * count;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  std::size_t n = size * count;
  if (exchange->body.size() + n > exchange->limit) {
    exchange->overflow = true;
    return 0;  // aborts the transfer: nothing past what was asked is kept
  }
  exchange->body.append(data, n);
  return n;
}

PeerError classify(CURLcode code, const std::string& message) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
      return PeerError::kUnreachable;
    case CURLE_OPERATION_TIMEDOUT:
      return PeerError::kTimeout;
    case CURLE_PEER_FAILED_VERIFICATION:
      return PeerError::kBadCertificate;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_USE_SSL_FAILED:
      return PeerError::kTls;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
      // Under TLS 1.3 a server refuses a client certificate after the client finished its
      // side of the handshake: the refusal arrives as an alert on the first read.
      return message.find("alert") != std::string::npos || message.find("SSL") != std::string::npos
                 ? PeerError::kTls
                 : PeerError::kProtocol;
    default:
      return PeerError::kProtocol;
  }
}

PeerAnswer error_answer(PeerError error, std::string detail) {
  PeerAnswer answer;
  answer.error = error;
  answer.detail = std::move(detail);
  return answer;
}

// The header `name` of the last response, "" when absent.
std::string header(CURL* curl, const char* name) {
  curl_header* h = nullptr;
  if (curl_easy_header(curl, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK || h == nullptr) {
    return {};
  }
  return h->value;
}

using UniqueCurl = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;

UniqueCurl prepare(const PeerClientOptions& options, const std::string& url, Exchange& exchange,
                   char* errors) {
  UniqueCurl curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return curl;
  CURL* c = curl.get();
  exchange.curl = c;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");  // never through a proxy, whatever the environment
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errors);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
  curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  curl_easy_setopt(c, CURLOPT_CAINFO, options.tls.ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_CAPATH, nullptr);  // the fleet CA only, not the system's
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);  // CA-only trust (see peer_client.h)
  curl_easy_setopt(c, CURLOPT_SSLCERT, options.tls.cert_file.c_str());
  curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
  curl_easy_setopt(c, CURLOPT_SSLKEY, options.tls.key_file.c_str());
  curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &exchange);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &exchange);
  return curl;
}

std::string content_url(const std::string& address, const std::string& key) {
  return "https://" + address + std::string(peer::kContentPrefix) + key;
}

// Runs the prepared request; an error answer, or the status with the subject.
PeerAnswer perform(CURL* curl, Exchange& exchange, const char* errors) {
  CURLcode code = curl_easy_perform(curl);
  if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && exchange.overflow)) {
    std::string message = errors[0] != '\0' ? errors : curl_easy_strerror(code);
    PeerAnswer answer = error_answer(classify(code, message), message);
    answer.subject = exchange.subject;
    return answer;
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  PeerAnswer answer;
  answer.status = static_cast<unsigned>(status);
  answer.subject = exchange.subject;
  answer.detail = "HTTP " + std::to_string(status);
  if (status == 404 || status == 416) {
    answer.outcome = PeerAnswer::Outcome::kMiss;
  } else if (status == 503) {
    answer.error = PeerError::kBusy;
  } else if (exchange.overflow) {
    answer.error = PeerError::kProtocol;
    answer.detail = "more bytes than asked";
  } else if (status != 200 && status != 206) {
    answer.error = PeerError::kProtocol;
  }
  return answer;
}

}  // namespace

const char* to_string(PeerError error) {
  switch (error) {
    case PeerError::kNone:
      return "none";
    case PeerError::kTls:
      return "TLS handshake failed";
    case PeerError::kBadCertificate:
      return "bad certificate";
    case PeerError::kUnreachable:
      return "unreachable";
    case PeerError::kTimeout:
      return "timeout";
    case PeerError::kBusy:
      return "busy";
    case PeerError::kProtocol:
      return "protocol error";
    case PeerError::kWrongContent:
      return "wrong content";
  }
  return "unknown";
}

PeerAnswer PeerClient::head(const std::string& address, const std::string& key) const {
  Exchange exchange;
  char errors[CURL_ERROR_SIZE] = {};
  UniqueCurl curl = prepare(options_, content_url(address, key), exchange, errors);
  if (!curl) return error_answer(PeerError::kProtocol, "curl_easy_init failed");
  curl_easy_setopt(curl.get(), CURLOPT_NOBODY, 1L);
  PeerAnswer answer = perform(curl.get(), exchange, errors);
  if (answer.status != 200 || answer.error != PeerError::kNone) return answer;
  curl_off_t length = -1;
  curl_easy_getinfo(curl.get(), CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  if (length < 0) {
    answer.error = PeerError::kProtocol;
    answer.detail = "no Content-Length";
    return answer;
  }
  std::string digest = header(curl.get(), "Repr-Digest");
  auto sha256 = transfer_detail::sha256_of_digest(digest);
  if (!digest.empty() && !sha256) {
    answer.error = PeerError::kProtocol;
    answer.detail = "malformed Repr-Digest";
    return answer;
  }
  answer.outcome = PeerAnswer::Outcome::kHit;
  answer.size = static_cast<std::uint64_t>(length);
  answer.sha256 = sha256.value_or("");
  return answer;
}

PeerAnswer PeerClient::get_range(const std::string& address, const std::string& key,
                                 std::uint64_t first, std::uint64_t length) const {
  if (length == 0) return error_answer(PeerError::kProtocol, "empty range");
  Exchange exchange;
  exchange.limit = length;
  char errors[CURL_ERROR_SIZE] = {};
  UniqueCurl curl = prepare(options_, content_url(address, key), exchange, errors);
  if (!curl) return error_answer(PeerError::kProtocol, "curl_easy_init failed");
  std::string range = std::to_string(first) + "-" + std::to_string(first + length - 1);
  curl_easy_setopt(curl.get(), CURLOPT_RANGE, range.c_str());
  PeerAnswer answer = perform(curl.get(), exchange, errors);
  if (answer.status != 206 || answer.error != PeerError::kNone) {
    if (answer.status == 200) {  // the whole content instead of the range asked
      answer.error = PeerError::kProtocol;
      answer.detail = "200 to a range request";
    }
    return answer;
  }
  std::string content_range = header(curl.get(), "Content-Range");
  std::string expected = "bytes " + range + "/";
  if (!content_range.starts_with(expected) || exchange.body.size() != length) {
    answer.error = PeerError::kProtocol;
    answer.detail = "range " + range + " answered by '" + content_range + "' with " +
                    std::to_string(exchange.body.size()) + " bytes";
    return answer;
  }
  answer.outcome = PeerAnswer::Outcome::kHit;
  answer.bytes = std::move(exchange.body);
  return answer;
}

}  // namespace openbits::daemon

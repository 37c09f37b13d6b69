// The HTTP(S) path of the transfer engine: easy-handle set-up (TLS verification, redirect
// policy, protocols, timeouts, custom headers), response header parsing, and the body
// callback that checks the first bytes of each GET against what was asked for and writes
// straight into the temp file. libcurl calls these on the engine thread.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>

#include "src/daemon/transfer/http_headers.h"
#include "src/daemon/transfer/negotiate.h"
#include "src/daemon/transfer/transfer_internal.h"

namespace openbits::daemon::transfer_detail {
namespace {

constexpr const char* kUserAgent = "Microsoft BITS/7.8 openbits/0.1";
constexpr long kBufferSize = 512L * 1024L;
constexpr long kMinPacedBuffer = 16L * 1024L;

// libcurl's receive buffer: the most one body callback gets. Under a limit at the
// request's start, a quarter second of it, so a paced transfer takes small steps (the
// buffer of a request in flight cannot change).
long receive_buffer(const Transfer& t) {
  if (!t.pacer || !t.pacer->limited()) return kBufferSize;
  auto quarter = static_cast<long>(std::min<std::uint64_t>(t.pacer->rate() / 4, kBufferSize));
  return std::max(kMinPacedBuffer, quarter);
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after a redirect): start over
    t->seen.etag.clear();
    t->seen.last_modified.clear();
    t->seen.accept_ranges = false;
    t->content_range.clear();
    t->retry_after_s = 0;
    t->server_offers = 0;
    t->proxy_offers = 0;
  } else if (note_challenge(*t, line)) {
    // WWW-Authenticate / Proxy-Authenticate: kept for answer_challenge()
  } else if (auto retry_after = header_value(line, "retry-after")) {
    t->retry_after_s = parse_retry_after(*retry_after, std::time(nullptr)).value_or(0);
  } else if (auto repr = header_value(line, "repr-digest")) {
    if (auto sha = sha256_of_digest(*repr)) t->origin_sha256 = *sha;  // wins over Digest
  } else if (auto digest = header_value(line, "digest")) {
    auto sha = sha256_of_digest(*digest);
    if (sha && t->origin_sha256.empty()) t->origin_sha256 = *sha;
  } else if (auto etag = header_value(line, "etag")) {
    t->seen.etag = *etag;
  } else if (auto modified = header_value(line, "last-modified")) {
    t->seen.last_modified = *modified;
  } else if (auto ranges = header_value(line, "accept-ranges")) {
    t->seen.accept_ranges = strcasecmp(ranges->c_str(), "bytes") == 0;
  } else if (auto content_range = header_value(line, "content-range")) {
    t->content_range = *content_range;
  }
  return size * count;
}

bool is_redirect(long status) {
  return status == 300 || status == 301 || status == 302 || status == 303 || status == 307 ||
         status == 308;
}

long response_status(const Transfer& t) {
  long status = 0;
  curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
  return status;
}

// The validators of the GET response, to compare with those HEAD gave.
RemoteValidators response_validators(const Transfer& t, long status) {
  RemoteValidators now = t.seen;
  now.size = kSizeUnknown;
  if (status == 206) {
    now.size = parse_content_range(t.content_range).total.value_or(kSizeUnknown);
  } else {
    curl_off_t length = -1;
    curl_easy_getinfo(t.easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    if (length >= 0) now.size = static_cast<std::uint64_t>(length);
  }
  return now;
}

// A 206 must hold the bytes this GET is for: from get_remote_start, ending inside what
// was asked for and inside the file. A server may send fewer bytes than asked (the next
// GET continues after them). Nothing asked for (no size known: dynamic content), it must
// be the whole file. Narrows get_remaining to the bytes the response announces.
bool partial_content_fits(Transfer& t) {
  ContentRange r = parse_content_range(t.content_range);
  if (!r.start || !r.end || *r.start != t.get_remote_start || *r.end < *r.start) return false;
  if (r.total && *r.end >= *r.total) return false;
  if (t.get_remaining == kSizeUnknown) return *r.start == 0 && r.total && *r.end + 1 == *r.total;
  if (*r.end - *r.start >= t.get_remaining) return false;  // more than asked for
  t.get_remaining = *r.end - *r.start + 1;
  return true;
}

bool fail_content_range(Transfer& t, long status) {
  t.fail({hr::BG_E_INVALID_SERVER_RESPONSE, ErrorContext::kRemoteFile, false},
         "HTTP " + std::to_string(status) + " with Content-Range '" + t.content_range +
             "' for bytes from " + std::to_string(t.get_remote_start));
  return false;
}

// A 200 to a ranged GET: the server ignored Range. Fatal unless the job may take the whole
// file from byte 0 (a foreground job), after committing that.
bool take_whole_file(Transfer& t) {
  bool whole_file = t.download().ranges.empty();
  if (!whole_file || !t.download().restart_if_no_range_support) {
    t.fail({hr::BG_E_INSUFFICIENT_RANGE_SUPPORT, ErrorContext::kRemoteFile, false},
           "the server ignored the Range header");
    return false;
  }
  report_restart(t);
  if (!cut_temp(t, 0)) return false;
  t.ranged_get = false;
  t.get_remote_start = 0;
  t.get_remaining = t.total;
  return true;
}

// The first GET of a fresh file, sent without HEAD: its headers are what HEAD would have
// said. The same checks as finish_head (a size is required); the plan is the whole file.
bool take_validators_from_get(Transfer& t, long status) {
  if (status == 206 && !partial_content_fits(t)) return fail_content_range(t, status);
  RemoteValidators now = response_validators(t, status);
  if (now.size == kSizeUnknown) {
    t.fail({hr::BG_E_MISSING_FILE_SIZE, ErrorContext::kRemoteFile, false},
           "the server did not give the file size");
    return false;
  }
  t.seen = t.expected = now;
  t.plan = {{0, now.size}};
  t.total = now.size;
  t.get_remaining = now.size;
  // The temp file is made only now that the server answered (as after HEAD): a request
  // that fails (TLS, refused, no size) leaves nothing in the destination directory.
  if (!open_temp(t) || !cut_temp(t, 0)) return false;
  announce(t);
  return true;
}

// Checks the start of a GET's body against what was asked for, before any byte of it is
// written. False (with t.failure, or t.restart_pending) aborts the request.
bool check_body_start(Transfer& t) {
  t.body_checked = true;
  long status = response_status(t);
  if (status / 100 != 2) {
    t.fail(status_failure(t, status), "HTTP status " + std::to_string(status));
    return false;
  }
  if (t.without_head()) {  // the response is the first word from the server
    if (status == 206 && !partial_content_fits(t)) return fail_content_range(t, status);
    t.seen = response_validators(t, status);
    announce(t);
    return true;
  }
  if (t.head_skipped && !t.announced) return take_validators_from_get(t, status);
  if (validators_changed(t.expected, response_validators(t, status))) {
    // The file changed since HEAD: start it again from byte 0 with the new validators.
    t.restart_pending = true;
    return false;
  }
  // Every 206 is checked, asked for or not: its bytes are written where this GET starts.
  if (status == 206) return partial_content_fits(t) || fail_content_range(t, status);
  if (!t.ranged_get) return true;
  if (status == 200) return take_whole_file(t);
  return fail_content_range(t, status);
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t n = size * count;
  if (t->failure) return 0;  // e.g. a checkpoint from the engine loop failed
  // A redirect not followed (policy DISALLOW): its target is known only once the response
  // ended, so finish_get decides (http_status_failure reports it); its body is not the file.
  if (!t->body_checked && is_redirect(response_status(*t))) return n;
  if (paced_allowance(*t) == 0) {  // the engine resumes it when the bucket refills
    t->paced_pause = true;
    return CURL_WRITEFUNC_PAUSE;
  }
  if (!t->body_checked && !check_body_start(*t)) return 0;
  std::size_t take = n;
  if (t->get_remaining != kSizeUnknown) {
    take = static_cast<std::size_t>(std::min<std::uint64_t>(n, t->get_remaining));
    t->get_remaining -= take;
  }
  if (!write_all(*t, data, take)) return 0;
  paced_consume(*t, n);
  if (checkpoint_due(*t) && !checkpoint(*t)) return 0;
  return n;
}

// Before each connection: a peer behind a link that is down is not even tried (the SYN
// would wait for the connect timeout), and the failure reads BG_E_NETWORK_DISCONNECTED.
curl_socket_t open_socket(void* user, curlsocktype, curl_sockaddr* address) {
  auto* t = static_cast<Transfer*>(user);
  char ip[INET6_ADDRSTRLEN] = {};
  const void* where = nullptr;
  if (address->family == AF_INET) {
    where = &reinterpret_cast<const sockaddr_in*>(&address->addr)->sin_addr;
  } else if (address->family == AF_INET6) {
    where = &reinterpret_cast<const sockaddr_in6*>(&address->addr)->sin6_addr;
  }
  if (where && ::inet_ntop(address->family, where, ip, sizeof ip) && !peer_reachable(ip)) {
    t->peer_unreachable = true;
    return CURL_SOCKET_BAD;
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

void set_custom_headers(Transfer& t) {
  if (!t.headers) {
    const std::string& all = t.common().custom_headers;
    std::size_t start = 0;
    while (start < all.size()) {
      std::size_t end = all.find("\r\n", start);
      if (end == std::string::npos) end = all.size();
      if (end > start) {
        t.headers = curl_slist_append(t.headers, all.substr(start, end - start).c_str());
      }
      start = end + 2;
    }
  }
}

void set_security(Transfer& t) {
  CURL* e = t.easy;
  std::uint32_t flags = t.common().security_flags;
  bool https = strncasecmp(t.common().remote_name.c_str(), "https://", 8) == 0;
  bool allow_downgrade = (flags & kRedirectPolicyAllowHttpsToHttp) != 0;
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR,
                   https && !allow_downgrade ? "https" : "http,https");
  bool follow = (flags & kRedirectPolicyMask) != kRedirectPolicyDisallow;
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, follow ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
}

// Sets up the easy handle for a HEAD or a GET of the remote URL.
bool prepare_easy(Transfer& t, bool head) {
  if (!t.easy) t.easy = curl_easy_init();
  if (!t.easy) return false;
  CURL* e = t.easy;
  curl_easy_reset(e);
  curl_easy_setopt(e, CURLOPT_URL, t.common().remote_name.c_str());
  set_custom_headers(t);
  if (!set_common_options(t, t.headers)) return false;
  curl_easy_setopt(e, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(e, CURLOPT_FILETIME, 1L);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
  if (head) {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    return true;
  }
  if (t.download().http_method != "GET") {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, t.download().http_method.c_str());
  }
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  return true;
}

Failure http_status_failure(const Transfer& t, long status) {
  if (is_redirect(status) &&
      (t.common().security_flags & kRedirectPolicyMask) == kRedirectPolicyDisallow) {
    // bits-spec §1.4: a disallowed redirect is fatal with HRESULT_FROM_WIN32(status), and
    // the file's remote name becomes the redirect's target.
    char* target = nullptr;
    curl_easy_getinfo(t.easy, CURLINFO_REDIRECT_URL, &target);
    if (target && *target) t.observer->on_remote_name(t.token, target);
    return {0x80070000u | static_cast<HRESULT>(status), ErrorContext::kRemoteFile, false};
  }
  // A server that asked for a client certificate and refuses to serve without one.
  bool refused = status == 400 || status == 401 || status == 403;
  if (refused && t.tls.client_cert_requested->load() && !t.client_cert) {
    return {hr::WINHTTP_CLIENT_AUTH_CERT_NEEDED, ErrorContext::kRemoteFile, false};
  }
  return classify_http_status(static_cast<int>(status));
}

// ALLOW_REPORT: the file's remote name becomes the URL the redirects led to.
void report_redirects(Transfer& t) {
  if ((t.common().security_flags & kRedirectPolicyMask) != kRedirectPolicyAllowReport) return;
  char* url = nullptr;
  curl_easy_getinfo(t.easy, CURLINFO_EFFECTIVE_URL, &url);
  if (!url || !*url || t.common().remote_name == url) return;
  t.common().remote_name = url;
  t.observer->on_remote_name(t.token, t.common().remote_name);
}

}  // namespace

bool set_common_options(Transfer& t, curl_slist* headers) {
  CURL* e = t.easy;
  curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
  set_security(t);
  curl_easy_setopt(e, CURLOPT_USERAGENT, kUserAgent);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);  // stalled: WINHTTP_TIMEOUT
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, static_cast<long>(t.common().stall_timeout.count()));
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, receive_buffer(t));
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, &t);
  return apply_request_options(t, headers);
}

std::int64_t pacing_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::uint64_t paced_allowance(Transfer& t) {
  return t.pacer ? t.pacer->allowance(pacing_now_ms()) : RatePacer::kUnlimited;
}

void paced_consume(Transfer& t, std::uint64_t bytes) {
  t.moved += bytes;  // the yield's count of what this transfer moved (engine_yield.cc)
  if (t.pacer) t.pacer->consume(bytes, pacing_now_ms());
}

Failure status_failure(const Transfer& t, long status) {
  Failure f = http_status_failure(t, status);
  if (f.transient) f.retry_after_s = t.retry_after_s;
  return f;
}

bool start_verify(Transfer& t, CURLM* multi) {
  t.phase = Transfer::Phase::kVerify;
  return prepare_easy(t, true) && curl_multi_add_handle(multi, t.easy) == CURLM_OK;
}

bool finish_verify(Transfer& t) {
  long status = response_status(t);
  if (status / 100 != 2) {
    t.fail(status_failure(t, status), "HEAD: HTTP status " + std::to_string(status));
    return false;
  }
  RemoteValidators now = t.seen;
  curl_off_t length = -1;
  curl_easy_getinfo(t.easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  now.size = length >= 0 ? static_cast<std::uint64_t>(length) : kSizeUnknown;
  if (!validators_changed(t.expected, now)) return true;
  t.restart_pending = true;
  return false;
}

bool validators_changed(const RemoteValidators& before, const RemoteValidators& now) {
  if (before.size != kSizeUnknown && now.size != kSizeUnknown && before.size != now.size) {
    return true;
  }
  if (!before.etag.empty() && !now.etag.empty() && before.etag != now.etag) return true;
  return !before.last_modified.empty() && !now.last_modified.empty() &&
         before.last_modified != now.last_modified;
}

bool start_head(Transfer& t, CURLM* multi) {
  t.phase = Transfer::Phase::kHead;
  return prepare_easy(t, true) && curl_multi_add_handle(multi, t.easy) == CURLM_OK;
}

bool finish_head(Transfer& t) {
  long status = response_status(t);
  if (status / 100 != 2) {
    t.fail(status_failure(t, status), "HEAD: HTTP status " + std::to_string(status));
    return false;
  }
  curl_off_t length = -1;
  curl_easy_getinfo(t.easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  curl_off_t filetime = -1;
  curl_easy_getinfo(t.easy, CURLINFO_FILETIME_T, &filetime);
  if (filetime > 0) t.mtime_ms = std::int64_t{filetime} * 1000;
  if (length < 0) {
    t.fail({hr::BG_E_MISSING_FILE_SIZE, ErrorContext::kRemoteFile, false},
           "the server did not give the file size");
    return false;
  }
  t.seen.size = static_cast<std::uint64_t>(length);
  t.expected = t.seen;
  report_redirects(t);
  return true;
}

bool finish_get(Transfer& t) {
  if (!t.body_checked && !check_body_start(t)) return false;
  curl_off_t filetime = -1;
  curl_easy_getinfo(t.easy, CURLINFO_FILETIME_T, &filetime);
  if (t.mtime_ms == 0 && filetime > 0) t.mtime_ms = std::int64_t{filetime} * 1000;
  report_redirects(t);
  return true;
}

// Starts the GET for the range containing the current offset.
bool start_get(Transfer& t, CURLM* multi) {
  t.phase = Transfer::Phase::kGet;
  t.body_checked = false;
  t.ranged_get = false;
  t.get_remote_start = 0;
  t.get_remaining = kSizeUnknown;
  if (!prepare_easy(t, false)) return false;
  std::uint64_t local_start = 0;
  for (const FileRange& r : t.plan) {
    if (t.offset < local_start + r.length) {
      std::uint64_t skip = t.offset - local_start;
      t.get_remote_start = r.initial_offset + skip;
      t.get_remaining = r.length - skip;
      bool whole_file = t.download().ranges.empty();
      t.ranged_get = t.get_remote_start > 0 || !whole_file;
      std::string range = std::to_string(t.get_remote_start) + "-";
      if (!whole_file) range += std::to_string(r.initial_offset + r.length - 1);
      if (t.ranged_get) curl_easy_setopt(t.easy, CURLOPT_RANGE, range.c_str());
      break;
    }
    local_start += r.length;
  }
  return curl_multi_add_handle(multi, t.easy) == CURLM_OK;
}

}  // namespace openbits::daemon::transfer_detail

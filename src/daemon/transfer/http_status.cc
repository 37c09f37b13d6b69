// Failure classification; see http_status.h.
#include "src/daemon/transfer/http_status.h"

#include <algorithm>
#include <cerrno>

namespace openbits::daemon {

bool is_transient_http_status(int status) {
  if (status >= 300 && status < 400) return !(status <= 305 || status == 307);
  if (status >= 400 && status < 500) return status == 408 || status == 409 || status == 429;
  if (status >= 500 && status < 600) return !(status == 501 || status == 505);
  return true;
}

Failure classify_http_status(int status) {
  return {http_error(status), ErrorContext::kRemoteFile, is_transient_http_status(status)};
}

Failure classify_curl_error(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return {hr::WINHTTP_NAME_NOT_RESOLVED, ErrorContext::kGeneralTransport, true};
    case CURLE_COULDNT_CONNECT:
      return {hr::WINHTTP_CANNOT_CONNECT, ErrorContext::kGeneralTransport, true};
    case CURLE_OPERATION_TIMEDOUT:
      return {hr::WINHTTP_TIMEOUT, ErrorContext::kGeneralTransport, true};
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
      return {hr::BG_E_CONNECTION_CLOSED, ErrorContext::kRemoteFile, true};
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return {hr::WINHTTP_SECURE_FAILURE, ErrorContext::kRemoteFile, false};
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return {hr::WINHTTP_REDIRECT_FAILED, ErrorContext::kRemoteFile, false};
    case CURLE_WEIRD_SERVER_REPLY:
      return {hr::BG_E_INVALID_SERVER_RESPONSE, ErrorContext::kRemoteFile, true};
    default:
      return {hr::WINHTTP_CONNECTION_ERROR, ErrorContext::kGeneralTransport, true};
  }
}

std::optional<std::uint32_t> parse_retry_after(const std::string& value, std::int64_t now_s) {
  if (value.empty()) return std::nullopt;
  if (value.find_first_not_of("0123456789") == std::string::npos) {
    if (value.size() > 9) return kMaxRetryAfterS;  // more digits than any sane delay
    return std::min<std::uint32_t>(static_cast<std::uint32_t>(std::stoul(value)), kMaxRetryAfterS);
  }
  time_t when = curl_getdate(value.c_str(), nullptr);
  if (when < 0) return std::nullopt;
  std::int64_t delta = std::int64_t{when} - now_s;
  if (delta <= 0) return 0u;
  return static_cast<std::uint32_t>(std::min<std::int64_t>(delta, kMaxRetryAfterS));
}

Failure classify_local_errno(int err) {
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return {hr::DISK_FULL, ErrorContext::kLocalFile, true};
    case ENOENT:
    case ENOTDIR:
      return {hr::PATH_NOT_FOUND, ErrorContext::kLocalFile, false};
    case EACCES:
    case EPERM:
    case EROFS:
    case ELOOP:
      return {hr::E_ACCESSDENIED, ErrorContext::kLocalFile, false};
    default:
      return {hr::WRITE_FAULT, ErrorContext::kLocalFile, true};
  }
}

Failure classify_source_errno(int err) {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return {hr::FILE_NOT_FOUND, ErrorContext::kRemoteFile, false};
    case EACCES:
    case EPERM:
      return {hr::E_ACCESSDENIED, ErrorContext::kRemoteFile, false};
    default:
      return {hr::READ_FAULT, ErrorContext::kRemoteFile, true};
  }
}

}  // namespace openbits::daemon

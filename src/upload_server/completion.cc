// UploadService: what happens once the last byte arrived (commit, back-end hand-off), and
// serving the reply files it hands out.
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <ctime>

#include "src/upload_server/acks.h"
#include "src/upload_server/backend.h"
#include "src/upload_server/upload_service.h"

namespace openbits::upload {
namespace {

constexpr std::uint64_t kMaxReplyRead = 64u << 20;

bool safe_host(const std::string& host) {
  if (host.empty() || host.size() > 255) return false;
  for (char c : host) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != ':' &&
        c != '[' && c != ']') {
      return false;
    }
  }
  return true;
}

std::string http_date(std::time_t when) {
  std::tm tm{};
  ::gmtime_r(&when, &tm);
  char text[64];
  std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return text;
}

struct ByteRange {
  std::uint64_t first;
  std::uint64_t last;
};

// One range of a Range header ("bytes=a-b", "bytes=a-", "bytes=-n") within `size` bytes.
// nullopt: no usable Range header (serve everything); first > last: unsatisfiable.
std::optional<ByteRange> parse_range(const std::string& header, std::uint64_t size) {
  if (header.rfind("bytes=", 0) != 0 || header.find(',') != std::string::npos) return std::nullopt;
  std::string spec = header.substr(6);
  auto dash = spec.find('-');
  if (dash == std::string::npos) return std::nullopt;
  try {
    if (dash == 0) {
      std::uint64_t n = std::stoull(spec.substr(1));
      if (n == 0 || size == 0) return ByteRange{1, 0};
      return ByteRange{n >= size ? 0 : size - n, size - 1};
    }
    std::uint64_t first = std::stoull(spec.substr(0, dash));
    std::uint64_t last = dash + 1 < spec.size() ? std::stoull(spec.substr(dash + 1)) : size - 1;
    if (first >= size) return ByteRange{1, 0};
    return ByteRange{first, std::min(last, size - 1)};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::string request_host(const RequestHead& head) {
  std::string host = head.header("Host");
  return safe_host(host) ? host : std::string("localhost");
}

std::string UploadService::reply_url(const Session& session, const RequestHead& head) const {
  std::string base = config_.reply_base_url;
  if (base.empty()) base = head.scheme + "://" + request_host(head);
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + kReplyPrefix + session.dir_name();
}

std::optional<Response> UploadService::commit_file(Session& session) {
  auto url = parse_url_path(session.state.url_path);
  if (!url) return error_ack(400, kEInvalidArg, kContextServer, session.state.id);
  UniqueFd parent = root_.open_parent(*url);
  int result = -1;
  if (parent.valid()) {
    unsigned flags = config_.allow_overwrites ? 0u : RENAME_NOREPLACE;
    result =
        ::renameat2(session.dir.get(), "data", parent.get(), url->components.back().c_str(), flags);
  }
  if (result == 0) {
    ::fsync(parent.get());
    session.data.reset();
    return std::nullopt;
  }
  const std::string& id = session.state.id;
  switch (errno) {
    case ENOENT:
      return error_ack(404, http_error_code(404), kContextServer, id);
    case EEXIST:
    case ENOTEMPTY:
    case EISDIR:
      return error_ack_because(409, kEAccessDenied, kExistsReason, id);
    case ELOOP:
    case ENOTDIR:
    case EACCES:
    case EPERM:
      return error_ack(403, kEAccessDenied, kContextServer, id);
    default:
      return error_ack(500, kEFail, kContextServer, id);
  }
}

Response UploadService::complete(const std::shared_ptr<Session>& session, const RequestHead& head) {
  std::lock_guard commit_lock(session->commit_mutex);
  {
    std::lock_guard lock(session->mutex);
    if (session->removed) return error_ack(500, kSessionNotFound, kContextServer);
    const SessionState& s = session->state;
    if (s.phase == Phase::kCommitted) return fragment_ack(200, s.id, s.received);
    if (s.phase == Phase::kReplied) {
      Response r = fragment_ack(200, s.id, s.received);
      r.headers.emplace_back("BITS-Reply-URL", s.reply_url);
      return r;
    }
    if (config_.notification_type == 0) {
      if (auto failure = commit_file(*session)) return *failure;
      session->state.phase = Phase::kCommitted;
      static_cast<void>(sessions_.persist(*session));
      return fragment_ack(200, s.id, s.received);
    }
  }
  return hand_off(session, head);
}

// Types 1 and 2: post the upload to the back-end (without holding session->mutex; the
// commit mutex keeps a concurrent retry of the last fragment waiting).
Response UploadService::hand_off(const std::shared_ptr<Session>& session, const RequestHead& head) {
  BackendRequest request;
  request.type = config_.notification_type;
  request.notification_url = config_.notification_url;
  request.timeout_seconds = config_.notification_timeout;
  UniqueFd data;
  UniqueFd reply;
  std::string id;
  {
    std::lock_guard lock(session->mutex);
    if (session->removed) return error_ack(500, kSessionNotFound, kContextServer);
    id = session->state.id;
    request.job_url = session->state.original_url;
    request.job_query = session->state.query;
    std::string dir = sessions_.session_path(*session);
    request.data_path = dir + "/data";
    request.reply_path = dir + "/reply";
    ::unlinkat(session->dir.get(), "reply", 0);
    if (request.type == 2) {
      data.reset(::openat(session->dir.get(), "data", O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      reply.reset(::openat(session->dir.get(), "reply",
                           O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!data.valid() || !reply.valid()) return error_ack(500, kEFail, kContextServer, id);
      request.data_fd = data.get();
      request.reply_fd = reply.get();
    }
  }
  BackendResult result = notify_backend(request);
  reply.reset();
  if (!result.reached) {
    unsigned status = result.timed_out ? 504 : 502;
    return error_ack(status, http_error_code(status), kContextApplication, id);
  }
  if (result.status != 200) {
    auto status = static_cast<unsigned>(result.status);
    if (status < 400 || status > 599) status = 502;
    return error_ack(status, http_error_code(status), kContextApplication, id);
  }
  std::lock_guard lock(session->mutex);
  if (session->removed) return error_ack(500, kSessionNotFound, kContextServer);
  if (result.copy_to_destination) {
    if (auto failure = commit_file(*session)) return *failure;
  } else {
    session->data.reset();
    ::unlinkat(session->dir.get(), "data", 0);
  }
  SessionState& s = session->state;
  if (!result.static_response_url.empty()) {
    ::unlinkat(session->dir.get(), "reply", 0);
    s.reply_url = result.static_response_url;
    s.reply_file = false;
  } else {
    // Type 1: the application wrote the reply file (a regular file, never a link) or none.
    UniqueFd check(
        ::openat(session->dir.get(), "reply", O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
    struct stat st {};
    if (!check.valid() || ::fstat(check.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return error_ack(500, kEFail, kContextApplication, id);
    }
    s.reply_url = reply_url(*session, head);
    s.reply_file = true;
  }
  s.phase = Phase::kReplied;
  static_cast<void>(sessions_.persist(*session));
  Response r = fragment_ack(200, s.id, s.received);
  r.headers.emplace_back("BITS-Reply-URL", s.reply_url);
  return r;
}

Response UploadService::serve_reply(const RequestHead& head) {
  Response not_found;
  not_found.status = 404;
  std::string_view target = strip_authority(head.target);
  if (target.rfind(kReplyPrefix, 0) != 0) return not_found;
  std::string id = "{" + std::string(target.substr(std::string_view(kReplyPrefix).size())) + "}";
  if (!valid_session_id(id)) return not_found;
  auto session =
      sessions_.find(id, static_cast<std::int64_t>(std::time(nullptr)), config_.session_timeout);
  if (!session) return not_found;
  std::lock_guard lock(session->mutex);
  if (session->state.phase != Phase::kReplied || !session->state.reply_file) return not_found;
  UniqueFd fd(::openat(session->dir.get(), "reply", O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st {};
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return not_found;
  auto size = static_cast<std::uint64_t>(st.st_size);
  Response r;
  r.headers.emplace_back("Content-Type", "application/octet-stream");
  r.headers.emplace_back("Accept-Ranges", "bytes");
  r.headers.emplace_back("Last-Modified", http_date(st.st_mtime));
  r.headers.emplace_back("ETag", "\"" + session->dir_name() + "-" + std::to_string(size) + "\"");
  ByteRange range{0, size == 0 ? 0 : size - 1};
  if (auto asked = parse_range(head.header("Range"), size)) {
    if (asked->first > asked->last) {
      r.status = 416;
      r.headers.emplace_back("Content-Range", "bytes */" + std::to_string(size));
      return r;
    }
    range = *asked;
    r.status = 206;
    r.headers.emplace_back("Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                                std::to_string(range.last) + "/" +
                                                std::to_string(size));
  }
  std::uint64_t length = size == 0 ? 0 : range.last - range.first + 1;
  if (head.method == "HEAD") {
    r.head_length = length;
    return r;
  }
  if (length > kMaxReplyRead) return error_ack(500, kEFail, kContextServer);
  r.body.resize(static_cast<std::size_t>(length));
  std::size_t done = 0;
  while (done < r.body.size()) {
    ssize_t n = ::pread(fd.get(), r.body.data() + done, r.body.size() - done,
                        static_cast<off_t>(range.first + done));
    if (n <= 0) return error_ack(500, kEFail, kContextServer);
    done += static_cast<std::size_t>(n);
  }
  return r;
}

}  // namespace openbits::upload

#include "src/upload_server/upload_service.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <ctime>

#include "src/upload_server/acks.h"

namespace openbits::upload {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::int64_t now_seconds() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::optional<std::uint64_t> parse_number(std::string_view text) {
  std::uint64_t value = 0;
  if (text.empty() || text.size() > 20) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

struct ContentRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::uint64_t total = 0;
};

// "bytes <first>-<last>/<total>", zero-based and inclusive, last < total.
std::optional<ContentRange> parse_content_range(std::string_view text) {
  if (text.size() < 6 || !iequals(text.substr(0, 6), "bytes ")) return std::nullopt;
  text.remove_prefix(6);
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  auto dash = text.find('-');
  auto slash = text.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash) {
    return std::nullopt;
  }
  auto first = parse_number(text.substr(0, dash));
  auto last = parse_number(text.substr(dash + 1, slash - dash - 1));
  auto total = parse_number(text.substr(slash + 1));
  if (!first || !last || !total || *first > *last || *last >= *total) return std::nullopt;
  return ContentRange{*first, *last, *total};
}

bool offers_upload_protocol(std::string_view list) {
  std::size_t pos = 0;
  while (pos < list.size()) {
    auto end = list.find_first_of(" ,\t", pos);
    if (end == std::string_view::npos) end = list.size();
    if (iequals(list.substr(pos, end - pos), kUploadProtocol)) return true;
    pos = end + 1;
  }
  return false;
}

// A session answers only the client address that created it (as IIS refuses a session id it
// did not issue to that client): a leaked id is of no use from anywhere else.
bool from_creator(const Session& session, const RequestHead& head, const char* packet) {
  if (session.state.client == head.client) return true;
  spdlog::warn("{} from {} for a session of client {} refused", packet, head.client,
               session.state.client);
  return false;
}

}  // namespace

// Streams one Fragment's body into the session's data file: bytes before the session's next
// expected offset are skipped (overlap), the rest appended; progress is made durable in
// finish() (and abort(), so a broken connection keeps what arrived).
class FragmentSink : public BodySink {
 public:
  FragmentSink(UploadService& service, std::shared_ptr<Session> session, RequestHead head,
               std::uint64_t first)
      : service_(service),
        session_(std::move(session)),
        head_(std::move(head)),
        first_(first),
        pos_(first) {}

  void consume(const char* data, std::size_t size) override {
    std::lock_guard lock(session_->mutex);
    std::uint64_t end = pos_ + size;
    std::uint64_t expected = session_->state.received;
    if (!failed_ && !session_->removed && session_->data.valid() && end > expected &&
        pos_ <= expected) {
      std::size_t skip = static_cast<std::size_t>(expected - pos_);
      if (write_at(data + skip, size - skip, expected)) {
        session_->state.received = end;
      } else {
        failed_ = true;
        errno_ = errno;
      }
    }
    pos_ = end;
  }

  Response finish() override {
    std::uint64_t received = 0;
    std::uint64_t total = 0;
    {
      std::lock_guard lock(session_->mutex);
      if (session_->removed) return error_ack(500, kSessionNotFound, kContextServer);
      bool synced = service_.sync_progress(*session_);
      received = session_->state.received;
      total = session_->state.total.value_or(0);
      if (failed_ || !synced) {
        unsigned status = errno_ == ENOSPC || errno_ == EDQUOT ? 507 : 500;
        Response r = error_ack(status, errno_ == ENOSPC ? kDiskFull : kEFail, kContextServer,
                               session_->state.id);
        r.headers.emplace_back("BITS-Received-Content-Range", std::to_string(received));
        return r;
      }
    }
    // What arrived, for tests that bound the bytes a client sends again after a crash.
    spdlog::debug("Fragment {} from {}: {} bytes at {}, next {}", session_->state.id, head_.client,
                  pos_ - first_, first_, received);
    if (received == total) return service_.complete(session_, head_);
    return fragment_ack(200, session_->state.id, received);
  }

  void abort() override {
    std::lock_guard lock(session_->mutex);
    if (!session_->removed) static_cast<void>(service_.sync_progress(*session_));
  }

 private:
  bool write_at(const char* data, std::size_t size, std::uint64_t offset) {
    while (size > 0) {
      ssize_t n = ::pwrite(session_->data.get(), data, size, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data += n;
      size -= static_cast<std::size_t>(n);
      offset += static_cast<std::uint64_t>(n);
    }
    return true;
  }

  UploadService& service_;
  std::shared_ptr<Session> session_;
  RequestHead head_;
  std::uint64_t first_;
  std::uint64_t pos_;
  bool failed_ = false;
  int errno_ = 0;
};

Dispatch UploadService::begin(const RequestHead& head) {
  if (head.method == "GET" || head.method == "HEAD") return {serve_reply(head), nullptr};
  if (head.method != "BITS_POST") {
    Response r;
    r.status = 405;
    r.headers.emplace_back("Allow", "BITS_POST, GET, HEAD");
    return {r, nullptr};
  }
  std::string packet = head.header("BITS-Packet-Type");
  if (iequals(packet, "Ping")) return {ack(200), nullptr};
  if (iequals(packet, "Create-Session")) return {create_session(head), nullptr};
  if (iequals(packet, "Fragment")) return fragment(head);
  if (iequals(packet, "Close-Session") || iequals(packet, "Cancel-Session")) {
    return {end_session(head), nullptr};
  }
  return {error_ack(400, kEInvalidArg, kContextServer), nullptr};
}

Response UploadService::create_session(const RequestHead& head) {
  if (!config_.uploads_enabled) return error_ack(501, kEAccessDenied, kContextServer);
  auto url = parse_url_path(head.target);
  if (!url) return error_ack(400, kEInvalidArg, kContextServer);
  UniqueFd parent = root_.open_parent(*url);
  if (!parent.valid()) {
    return errno == ENOENT ? error_ack(404, http_error_code(404), kContextServer)
                           : error_ack(403, kEAccessDenied, kContextServer);
  }
  struct stat st {};
  bool exists =
      ::fstatat(parent.get(), url->components.back().c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists && !S_ISREG(st.st_mode)) return error_ack(403, kEAccessDenied, kContextServer);
  if (exists && config_.notification_type == 0 && !config_.allow_overwrites) {
    return error_ack_because(409, kEAccessDenied, kExistsReason);
  }
  if (!offers_upload_protocol(head.header("BITS-Supported-Protocols"))) {
    return error_ack(400, kEInvalidArg, kContextServer);
  }
  std::lock_guard create_lock(create_mutex_);  // count and create as one step
  if (config_.session_limit_enabled &&
      sessions_.count_for_client(head.client) >= config_.sessions_per_client) {
    return error_ack(503, http_error_code(503), kContextServer);
  }

  SessionState state;
  state.id = new_session_id();
  state.url_path = url->joined();
  state.query = url->query;
  state.original_url = head.target.front() == '/'
                           ? head.scheme + "://" + request_host(head) + head.target
                           : head.target;  // absolute-form request target
  state.client = head.client;
  state.last_activity = now_seconds();
  auto session = sessions_.create(std::move(state));
  if (!session) {
    return errno == ENOSPC ? error_ack(507, kDiskFull, kContextServer)
                           : error_ack(500, kEFail, kContextServer);
  }
  Response response = ack(200);
  response.headers.emplace_back("BITS-Protocol", kUploadProtocol);
  response.headers.emplace_back("BITS-Session-Id", session->state.id);
  response.headers.emplace_back("Accept-Encoding", "Identity");
  if (!config_.host_id.empty()) {
    response.headers.emplace_back("BITS-Host-Id", config_.host_id);
    response.headers.emplace_back("BITS-Host-Id-Fallback-Timeout",
                                  std::to_string(config_.host_id_fallback_timeout));
  }
  return response;
}

Dispatch UploadService::fragment(const RequestHead& head) {
  std::string id = canonical_session_id(head.header("BITS-Session-Id"));
  auto url = parse_url_path(head.target);
  std::shared_ptr<Session> session;
  if (!id.empty()) session = sessions_.find(id, now_seconds(), config_.session_timeout);
  if (session && (!url || url->joined() != session->state.url_path)) session = nullptr;
  if (!session) return {error_ack(500, kSessionNotFound, kContextServer), nullptr};
  if (!from_creator(*session, head, "Fragment")) {
    return {error_ack(400, kSessionNotFound, kContextServer), nullptr};
  }

  auto range = parse_content_range(head.header("Content-Range"));
  std::string encoding = head.header("Content-Encoding");
  std::lock_guard lock(session->mutex);
  std::uint64_t received = session->state.received;
  auto fail = [&](unsigned status, std::uint32_t code) {
    Response r = error_ack(status, code, kContextServer, id);
    r.headers.emplace_back("BITS-Received-Content-Range", std::to_string(received));
    return Dispatch{r, nullptr};
  };
  if (!range || !head.content_length || *head.content_length != range->last - range->first + 1 ||
      (!encoding.empty() && !iequals(encoding, "identity")) ||
      (session->state.total && *session->state.total != range->total)) {
    return fail(400, kEInvalidArg);
  }
  if (config_.max_upload_size != 0 && range->total > config_.max_upload_size) {
    return fail(413, kTooLarge);
  }
  if (*head.content_length > config_.max_fragment_size) return fail(413, http_error_code(413));
  if (range->first > received) return {fragment_ack(416, id, received), nullptr};
  if (!session->state.total) session->state.total = range->total;
  return {Response{}, std::make_unique<FragmentSink>(*this, session, head, range->first)};
}

Response UploadService::end_session(const RequestHead& head) {
  std::string id = canonical_session_id(head.header("BITS-Session-Id"));
  std::shared_ptr<Session> session;
  if (!id.empty()) session = sessions_.find(id, now_seconds(), config_.session_timeout);
  if (!session) return error_ack(500, kSessionNotFound, kContextServer);
  if (!from_creator(*session, head, "Close/Cancel-Session")) {
    return error_ack(400, kSessionNotFound, kContextServer);
  }
  // Close or Cancel: an incomplete upload is discarded with the session; a committed file
  // stays where it is; a reply is released.
  sessions_.remove(session);
  return ack(200, id);
}

// One fdatasync per Ack: the data file's, before the count that covers it is recorded.
bool UploadService::sync_progress(Session& session) {
  session.state.last_activity = now_seconds();
  if (!session.data.valid()) return sessions_.persist(session);
  if (::fdatasync(session.data.get()) != 0) return false;
  return sessions_.record_progress(session);
}

std::size_t UploadService::expire_sessions() {
  return sessions_.expire(now_seconds(), config_.session_timeout);
}

}  // namespace openbits::upload

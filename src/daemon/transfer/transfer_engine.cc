// TransferEngine; see transfer_engine.h. One Transfer per running file: HEAD (or stat of a
// local source), a resolved plan of byte ranges, then GETs (or chunked copies) that append
// to the temp file at the durable offset, with fdatasync checkpoints.
#include "src/daemon/transfer/transfer_engine.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "src/daemon/transfer/http_status.h"

namespace openbits::daemon {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kCopyChunk = 1 << 20;
constexpr int kCopyChunksPerPump = 8;
constexpr const char* kUserAgent = "Microsoft BITS/7.8 openbits/0.1";

bool is_file_source(const std::string& remote) {
  return remote.rfind("/", 0) == 0 || remote.rfind("file://", 0) == 0 ||
         remote.rfind("FILE://", 0) == 0;
}

std::string file_source_path(const std::string& remote) {
  if (remote.front() == '/') return remote;
  std::string path = remote.substr(7);
  if (path.rfind("localhost/", 0) == 0) path = path.substr(9);
  return path;
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\r' || text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  std::size_t start = text.find_first_not_of(' ');
  return start == std::string::npos ? std::string() : text.substr(start);
}

bool header_is(const std::string& line, const char* name) {
  std::size_t n = std::strlen(name);
  return line.size() > n && strncasecmp(line.c_str(), name, n) == 0 && line[n] == ':';
}

bool validators_changed(const RemoteValidators& before, const RemoteValidators& now) {
  if (before.size == kSizeUnknown && before.etag.empty() && before.last_modified.empty()) {
    return false;  // first start
  }
  if (before.size != kSizeUnknown && now.size != kSizeUnknown && before.size != now.size) {
    return true;
  }
  if (!before.etag.empty() && !now.etag.empty() && before.etag != now.etag) return true;
  return !before.last_modified.empty() && !now.last_modified.empty() &&
         before.last_modified != now.last_modified;
}

// "bytes 100-199/1000" -> 100.
std::optional<std::uint64_t> content_range_start(const std::string& value) {
  std::size_t space = value.find(' ');
  if (space == std::string::npos) return std::nullopt;
  try {
    return std::stoull(value.substr(space + 1));
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace

struct TransferEngine::Transfer {
  enum class Phase { kHead, kGet, kCopy };
  std::uint64_t token = 0;
  TransferRequest request;
  TransferObserver* observer = nullptr;
  Phase phase = Phase::kHead;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  int fd = -1;
  int source_fd = -1;
  std::uint64_t offset = 0;  // bytes in the temp file (local offset)
  std::uint64_t synced = 0;  // bytes known durable
  Clock::time_point last_sync = Clock::now();
  RemoteValidators seen;
  std::int64_t mtime_ms = 0;
  std::vector<FileRange> plan;  // resolved (lengths known); empty: one body of unknown size
  std::uint64_t total = kSizeUnknown;
  // The GET in flight.
  bool ranged_get = false;
  std::uint64_t get_remote_start = 0;
  std::uint64_t get_remaining = kSizeUnknown;
  bool body_checked = false;
  std::optional<Failure> failure;
  std::string detail;
  std::string content_range;

  ~Transfer() {
    if (easy) curl_easy_cleanup(easy);
    if (headers) curl_slist_free_all(headers);
    if (fd >= 0) ::close(fd);
    if (source_fd >= 0) ::close(source_fd);
  }

  void fail(Failure f, std::string why) {
    if (!failure) {
      failure = f;
      detail = std::move(why);
    }
  }
};

namespace {

using Transfer = TransferEngine::Transfer;

// Makes the written bytes durable and tells the observer. Returns false on a flush error.
bool checkpoint(Transfer& t, TransferObserver& observer) {
  if (t.fd < 0 || t.offset == t.synced) return true;
  if (::fdatasync(t.fd) != 0) {
    t.fail(classify_local_errno(errno), std::string("fdatasync: ") + std::strerror(errno));
    return false;
  }
  t.synced = t.offset;
  t.last_sync = Clock::now();
  observer.on_progress(t.token, t.synced);
  return true;
}

bool checkpoint_due(const Transfer& t) {
  return t.offset - t.synced >= t.request.checkpoint_bytes ||
         (t.offset > t.synced && Clock::now() - t.last_sync >= t.request.checkpoint_interval);
}

bool write_all(Transfer& t, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::pwrite(t.fd, data, size, static_cast<off_t>(t.offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      t.fail(classify_local_errno(errno), std::string("write: ") + std::strerror(errno));
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
    t.offset += static_cast<std::uint64_t>(n);
  }
  return true;
}

// Opens (creating if needed) the temp file as the owner and cuts it to `length`.
bool open_temp(Transfer& t, std::uint64_t length) {
  ScopedFsCredentials as_owner(t.request.owner);
  if (!as_owner.ok()) {
    t.fail({hr::E_ACCESSDENIED, ErrorContext::kLocalFile, false}, "cannot assume owner");
    return false;
  }
  t.fd = ::open(t.request.temp_name.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (t.fd < 0) {
    t.fail(classify_local_errno(errno),
           "cannot open " + t.request.temp_name + ": " + std::strerror(errno));
    return false;
  }
  if (::ftruncate(t.fd, static_cast<off_t>(length)) != 0) {
    t.fail(classify_local_errno(errno), std::string("ftruncate: ") + std::strerror(errno));
    return false;
  }
  t.offset = t.synced = length;
  return true;
}

// Resolves the requested ranges against the remote size.
bool resolve_plan(Transfer& t) {
  const auto& ranges = t.request.ranges;
  if (ranges.empty()) {
    if (t.seen.size != kSizeUnknown) {
      t.plan = {{0, t.seen.size}};
      t.total = t.seen.size;
    }
    return true;
  }
  if (t.seen.size == kSizeUnknown) {
    t.fail({hr::BG_E_MISSING_FILE_SIZE, ErrorContext::kRemoteFile, false}, "no size for ranges");
    return false;
  }
  t.total = 0;
  for (const FileRange& r : ranges) {
    std::uint64_t length =
        r.length == kLengthToEof ? t.seen.size - std::min(r.initial_offset, t.seen.size) : r.length;
    if (r.initial_offset > t.seen.size || r.initial_offset + length > t.seen.size) {
      t.fail({hr::BG_E_INVALID_RANGE, ErrorContext::kRemoteFile, false}, "range beyond the end");
      return false;
    }
    if (length > 0) t.plan.push_back({r.initial_offset, length});
    t.total += length;
  }
  return true;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after a redirect): start over
    t->seen.etag.clear();
    t->seen.last_modified.clear();
    t->seen.accept_ranges = false;
    t->content_range.clear();
  } else if (header_is(line, "etag")) {
    t->seen.etag = trim(line.substr(5));
  } else if (header_is(line, "last-modified")) {
    t->seen.last_modified = trim(line.substr(14));
  } else if (header_is(line, "accept-ranges")) {
    t->seen.accept_ranges = trim(line.substr(14)) == "bytes";
  } else if (header_is(line, "content-range")) {
    t->content_range = trim(line.substr(14));
  }
  return size * count;
}

// Checks the first bytes of a GET's body against what was asked for.
bool check_body_start(Transfer& t) {
  t.body_checked = true;
  long status = 0;
  curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
  if (!t.ranged_get) return true;
  if (status == 200) {
    if (t.request.dynamic_content && t.plan.size() <= 1) {  // restart the body from zero
      t.offset = 0;
      t.get_remaining = t.total;
      return ::ftruncate(t.fd, 0) == 0;
    }
    t.fail({hr::BG_E_INSUFFICIENT_RANGE_SUPPORT, ErrorContext::kRemoteFile, false},
           "the server ignored the Range header");
    return false;
  }
  auto start = content_range_start(t.content_range);
  if (status != 206 || !start || *start != t.get_remote_start) {
    t.fail({hr::BG_E_INVALID_SERVER_RESPONSE, ErrorContext::kRemoteFile, false},
           "unexpected Content-Range '" + t.content_range + "'");
    return false;
  }
  return true;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t n = size * count;
  if (!t->body_checked && !check_body_start(*t)) return 0;
  std::size_t take = n;
  if (t->get_remaining != kSizeUnknown) {
    take = static_cast<std::size_t>(std::min<std::uint64_t>(n, t->get_remaining));
    t->get_remaining -= take;
  }
  if (!write_all(*t, data, take)) return 0;
  if (checkpoint_due(*t) && !checkpoint(*t, *t->observer)) return 0;
  return n;
}

// Sets up an easy handle for a HEAD or a GET of the remote URL.
bool prepare_easy(Transfer& t, bool head) {
  if (!t.easy) t.easy = curl_easy_init();
  if (!t.easy) return false;
  CURL* e = t.easy;
  curl_easy_reset(e);
  bool https = strncasecmp(t.request.remote_name.c_str(), "https://", 8) == 0;
  bool allow_downgrade = (t.request.security_flags & 0x800) != 0;
  curl_easy_setopt(e, CURLOPT_URL, t.request.remote_name.c_str());
  curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR,
                   https && !allow_downgrade ? "https" : "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, kUserAgent);
  curl_easy_setopt(e, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(e, CURLOPT_FILETIME, 1L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 512L * 1024L);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
  if (t.request.security_flags & 0x2) curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  if (t.request.security_flags & 0x8) curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
  if (!t.headers) {
    std::string all = t.request.custom_headers;
    std::size_t start = 0;
    while (start < all.size()) {
      std::size_t end = all.find("\r\n", start);
      if (end == std::string::npos) end = all.size();
      if (end > start)
        t.headers = curl_slist_append(t.headers, all.substr(start, end - start).c_str());
      start = end + 2;
    }
  }
  if (t.headers) curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
  if (head) {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else {
    if (t.request.http_method != "GET") {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, t.request.http_method.c_str());
    }
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  }
  return true;
}

// Starts the GET for the range containing the current offset.
bool start_get(Transfer& t, CURLM* multi) {
  t.phase = Transfer::Phase::kGet;
  t.body_checked = false;
  t.ranged_get = false;
  t.get_remaining = kSizeUnknown;
  if (!prepare_easy(t, false)) return false;
  std::uint64_t local_start = 0;
  for (const FileRange& r : t.plan) {
    if (t.offset < local_start + r.length) {
      std::uint64_t skip = t.offset - local_start;
      t.get_remote_start = r.initial_offset + skip;
      t.get_remaining = r.length - skip;
      bool whole_file = t.request.ranges.empty();
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

}  // namespace

TransferEngine::TransferEngine(TransferObserver& observer) : observer_(observer) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  multi_ = curl_multi_init();
  thread_ = std::thread([this] { run(); });
}

TransferEngine::~TransferEngine() {
  {
    std::lock_guard lock(mutex_);
    quit_ = true;
  }
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
  thread_.join();
  for (auto& [token, t] : transfers_) {
    if (t->easy) curl_multi_remove_handle(static_cast<CURLM*>(multi_), t->easy);
  }
  transfers_.clear();
  curl_multi_cleanup(static_cast<CURLM*>(multi_));
}

std::uint64_t TransferEngine::start(TransferRequest request) {
  std::uint64_t token;
  {
    std::lock_guard lock(mutex_);
    token = next_token_++;
    commands_.push_back({token, std::make_unique<TransferRequest>(std::move(request))});
  }
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
  return token;
}

void TransferEngine::stop(std::uint64_t token) {
  {
    std::lock_guard lock(mutex_);
    commands_.push_back({token, nullptr});
  }
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
}

void TransferEngine::process_commands() {
  std::deque<Command> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(commands_);
  }
  for (Command& command : batch) {
    if (command.request) {
      begin(command.token, std::move(*command.request));
    } else {
      end(command.token);
    }
  }
}

void TransferEngine::end(std::uint64_t token) {
  auto it = transfers_.find(token);
  if (it == transfers_.end()) return;
  if (it->second->easy) curl_multi_remove_handle(static_cast<CURLM*>(multi_), it->second->easy);
  transfers_.erase(it);
}

namespace {

// Reports a failed transfer: bytes already written become durable first, so a retry
// resumes after them.
void report_failure(Transfer& t, TransferObserver& observer) {
  Failure f = *t.failure;
  if (f.context != ErrorContext::kLocalFile) (void)checkpoint(t, observer);
  observer.on_error(t.token, f.code, f.context, f.transient, t.detail);
}

// Final flush and report; the caller removes the transfer.
void report_complete(Transfer& t, TransferObserver& observer) {
  if (::fdatasync(t.fd) != 0) {
    t.fail(classify_local_errno(errno), std::string("fdatasync: ") + std::strerror(errno));
    report_failure(t, observer);
    return;
  }
  ::close(t.fd);
  t.fd = -1;
  observer.on_complete(t.token, t.offset, t.mtime_ms);
}

bool open_source(Transfer& t) {
  ScopedFsCredentials as_owner(t.request.owner);
  std::string path = file_source_path(t.request.remote_name);
  t.source_fd = as_owner.ok() ? ::open(path.c_str(), O_RDONLY | O_CLOEXEC) : -1;
  struct stat st {};
  if (t.source_fd < 0 || ::fstat(t.source_fd, &st) != 0) {
    t.fail(classify_source_errno(errno), "cannot read " + path + ": " + std::strerror(errno));
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    t.fail({hr::E_INVALIDARG, ErrorContext::kRemoteFile, false}, path + " is not a file");
    return false;
  }
  t.seen.size = static_cast<std::uint64_t>(st.st_size);
  t.seen.last_modified =
      std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
  t.seen.accept_ranges = true;
  t.mtime_ms = std::int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1000000;
  return true;
}

}  // namespace

// Validators are known (HEAD answered or the source was opened): decide where to resume,
// open the temp file and start moving bytes. Returns false when the transfer is over
// (failed or complete); the caller then removes it.
static bool after_validators(Transfer& t, TransferObserver& observer, CURLM* multi) {
  bool restarted = validators_changed(t.request.validators, t.seen);
  if (!resolve_plan(t)) return false;
  std::uint64_t resume_at = t.request.dynamic_content || restarted ? 0 : t.request.durable_offset;
  if (t.total != kSizeUnknown && resume_at > t.total) resume_at = 0;
  if (!open_temp(t, resume_at)) return false;
  observer.on_connected(t.token);
  RemoteValidators reported = t.seen;
  reported.size = t.total;
  observer.on_validators(t.token, reported, restarted);
  if (t.total != kSizeUnknown && t.offset == t.total) {
    report_complete(t, observer);
    return false;
  }
  if (t.source_fd >= 0) {
    t.phase = Transfer::Phase::kCopy;
    return true;
  }
  if (!start_get(t, multi)) {
    t.fail({hr::E_FAIL, ErrorContext::kRemoteFile, true}, "cannot start the request");
    return false;
  }
  return true;
}

void TransferEngine::begin(std::uint64_t token, TransferRequest request) {
  auto t = std::make_unique<Transfer>();
  t->token = token;
  t->request = std::move(request);
  t->observer = &observer_;
  auto* multi = static_cast<CURLM*>(multi_);
  bool running = true;
  if (is_file_source(t->request.remote_name)) {
    running = open_source(*t) && after_validators(*t, observer_, multi);
  } else if (t->request.dynamic_content) {
    running = after_validators(*t, observer_, multi);  // no HEAD: size may stay unknown
  } else {
    t->phase = Transfer::Phase::kHead;
    running = prepare_easy(*t, true) && curl_multi_add_handle(multi, t->easy) == CURLM_OK;
    if (!running) t->fail({hr::E_FAIL, ErrorContext::kRemoteFile, true}, "cannot start HEAD");
  }
  if (!running) {
    if (t->failure) report_failure(*t, observer_);
    return;
  }
  transfers_[token] = std::move(t);
}

void TransferEngine::handle_done(void* easy, int result) {
  Transfer* t = nullptr;
  curl_easy_getinfo(static_cast<CURL*>(easy), CURLINFO_PRIVATE, &t);
  if (!t) return;
  auto* multi = static_cast<CURLM*>(multi_);
  curl_multi_remove_handle(multi, t->easy);
  auto code = static_cast<CURLcode>(result);
  long status = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  bool running = false;
  if (t->failure) {
    // set by a callback, which aborted the request
  } else if (code == CURLE_HTTP_RETURNED_ERROR) {
    t->fail(classify_http_status(status), "HTTP status " + std::to_string(status));
  } else if (code != CURLE_OK) {
    t->fail(classify_curl_error(code), curl_easy_strerror(code));
  } else if (t->phase == Transfer::Phase::kHead) {
    curl_off_t length = -1;
    curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    curl_off_t filetime = -1;
    curl_easy_getinfo(t->easy, CURLINFO_FILETIME_T, &filetime);
    if (filetime > 0) t->mtime_ms = std::int64_t{filetime} * 1000;
    if (length < 0) {
      t->fail({hr::BG_E_MISSING_FILE_SIZE, ErrorContext::kRemoteFile, false},
              "the server did not give the file size");
    } else {
      t->seen.size = static_cast<std::uint64_t>(length);
      running = after_validators(*t, observer_, multi);
    }
  } else if (t->get_remaining != kSizeUnknown && t->get_remaining > 0) {
    t->fail({hr::BG_E_CONNECTION_CLOSED, ErrorContext::kRemoteFile, true}, "the body ended early");
  } else if (t->total != kSizeUnknown && t->offset < t->total) {
    running = start_get(*t, multi);  // next range
  } else {
    report_complete(*t, observer_);
  }
  if (running) return;
  if (t->failure) report_failure(*t, observer_);
  transfers_.erase(t->token);
}

void TransferEngine::pump_copies() {
  std::vector<char> buffer(kCopyChunk);
  std::vector<std::uint64_t> finished;
  for (auto& [token, t] : transfers_) {
    if (t->phase != Transfer::Phase::kCopy) continue;
    for (int i = 0; i < kCopyChunksPerPump && t->offset < t->total && !t->failure; ++i) {
      std::size_t want =
          static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), t->total - t->offset));
      ssize_t n = ::pread(t->source_fd, buffer.data(), want, static_cast<off_t>(t->offset));
      if (n <= 0) {
        t->fail(n == 0 ? Failure{hr::BG_E_REMOTE_FILE_CHANGED, ErrorContext::kRemoteFile, true}
                       : classify_source_errno(errno),
                "reading the source failed");
        break;
      }
      if (!write_all(*t, buffer.data(), static_cast<std::size_t>(n))) break;
      if (checkpoint_due(*t)) (void)checkpoint(*t, observer_);
    }
    if (t->failure) {
      report_failure(*t, observer_);
      finished.push_back(token);
    } else if (t->offset >= t->total) {
      report_complete(*t, observer_);
      finished.push_back(token);
    }
  }
  for (std::uint64_t token : finished) transfers_.erase(token);
}

void TransferEngine::run() {
  auto* multi = static_cast<CURLM*>(multi_);
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (quit_) return;
    }
    process_commands();
    int running = 0;
    curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &queued)) {
      if (message->msg == CURLMSG_DONE) handle_done(message->easy_handle, message->data.result);
    }
    pump_copies();
    bool copying = false;
    for (auto& [token, t] : transfers_) {
      if (t->phase == Transfer::Phase::kCopy) copying = true;
      if (t->phase == Transfer::Phase::kGet && checkpoint_due(*t)) (void)checkpoint(*t, observer_);
    }
    curl_multi_poll(multi, nullptr, 0, copying ? 0 : 200, nullptr);
  }
}

}  // namespace openbits::daemon

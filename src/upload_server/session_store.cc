#include "src/upload_server/session_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <nlohmann/json.hpp>
#include <vector>

#include "openbits/names.h"
#include "src/common/ids.h"

namespace openbits::upload {
namespace {

using Json = nlohmann::json;

constexpr const char* kSessionsDir = "sessions";
constexpr const char* kStateFile = "state.json";
constexpr const char* kStateTemp = "state.json.tmp";
constexpr const char* kProgressFile = "progress";
constexpr const char* kFiles[] = {"data", "reply", kProgressFile, kStateTemp, kStateFile};
// How often record_progress() makes the progress file durable: what a power cut may cost.
constexpr std::int64_t kProgressSyncMs = 1000;

// The progress file: one record, rewritten in place. `check` tells a whole record from a
// torn or zero-filled one (then state.json's count, never higher than the truth, is used).
struct ProgressRecord {
  std::uint64_t received = 0;
  std::int64_t last_activity = 0;
  std::uint64_t check = 0;
};

std::uint64_t progress_check(std::uint64_t received, std::int64_t last_activity) {
  return (received * 0x9E3779B97F4A7C15ull) ^
         (static_cast<std::uint64_t>(last_activity) * 0xC2B2AE3D27D4EB4Full) ^ 0x62697473ull;
}

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int open_progress(int dir_fd) {
  return ::openat(dir_fd, kProgressFile, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
}

// A later count from the progress file than state.json's, if it holds a whole record.
void apply_progress(int fd, SessionState& state) {
  ProgressRecord record;
  if (::pread(fd, &record, sizeof record, 0) != static_cast<ssize_t>(sizeof record) ||
      record.check != progress_check(record.received, record.last_activity)) {
    return;
  }
  if (record.received > state.received) state.received = record.received;
  if (record.last_activity > state.last_activity) state.last_activity = record.last_activity;
}

const char* phase_name(Phase phase) {
  switch (phase) {
    case Phase::kUploading:
      return "uploading";
    case Phase::kCommitted:
      return "committed";
    case Phase::kReplied:
      return "replied";
  }
  return "uploading";
}

Json to_json(const SessionState& s) {
  Json j = {{"id", s.id},
            {"url_path", s.url_path},
            {"query", s.query},
            {"original_url", s.original_url},
            {"client", s.client},
            {"received", s.received},
            {"phase", phase_name(s.phase)},
            {"reply_url", s.reply_url},
            {"reply_file", s.reply_file},
            {"last_activity", s.last_activity}};
  if (s.total) j["total"] = *s.total;
  return j;
}

std::optional<SessionState> from_json(const Json& j) {
  if (!j.is_object()) return std::nullopt;
  try {
    SessionState s;
    s.id = j.at("id").get<std::string>();
    s.url_path = j.at("url_path").get<std::string>();
    s.query = j.at("query").get<std::string>();
    s.original_url = j.at("original_url").get<std::string>();
    s.client = j.at("client").get<std::string>();
    s.received = j.at("received").get<std::uint64_t>();
    auto phase = j.at("phase").get<std::string>();
    s.phase = phase == "committed" ? Phase::kCommitted
              : phase == "replied" ? Phase::kReplied
                                   : Phase::kUploading;
    s.reply_url = j.at("reply_url").get<std::string>();
    s.reply_file = j.at("reply_file").get<bool>();
    s.last_activity = j.at("last_activity").get<std::int64_t>();
    if (j.contains("total")) s.total = j.at("total").get<std::uint64_t>();
    return s;
  } catch (const Json::exception&) {
    return std::nullopt;
  }
}

std::optional<std::string> read_small_file(int dir_fd, const char* name) {
  UniqueFd fd(::openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  std::string text;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > 1 << 20) return std::nullopt;
  }
  return text;
}

bool write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

// The text form of a GUID (openbits/names.h) is the session id format BITS uses.
std::string new_session_id() { return to_string(random_guid()); }

std::string canonical_session_id(const std::string& id) {
  if (id.size() != 38 || id.front() != '{' || id.back() != '}') return {};
  std::string canonical = id;
  for (std::size_t i = 1; i + 1 < id.size(); ++i) {
    bool dash = i == 9 || i == 14 || i == 19 || i == 24;
    char c = id[i];
    if (dash != (c == '-') || (!dash && !std::isxdigit(static_cast<unsigned char>(c)))) return {};
    canonical[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return canonical;
}

bool valid_session_id(const std::string& id) {
  return canonical_session_id(id) == id && !id.empty();
}

std::string Session::dir_name() const { return state.id.substr(1, state.id.size() - 2); }

namespace {

Status sessions_error(const char* what) {
  return Status(hr::E_FAIL, ErrorContext::kLocalFile, std::string("sessions directory: ") + what);
}

}  // namespace

Status SessionStore::open() {
  if (::mkdirat(root_.state_fd(), kSessionsDir, 0700) != 0 && errno != EEXIST) {
    return sessions_error("cannot create");
  }
  sessions_fd_.reset(
      ::openat(root_.state_fd(), kSessionsDir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!sessions_fd_.valid()) {
    return sessions_error("cannot open");
  }
  std::vector<std::string> names;
  UniqueFd listing(::fcntl(sessions_fd_.get(), F_DUPFD_CLOEXEC, 0));
  DIR* dir = ::fdopendir(listing.get());
  if (dir == nullptr) {
    return sessions_error("cannot list");
  }
  listing.release();  // owned by `dir` now
  // NOLINTNEXTLINE(concurrency-mt-unsafe): this DIR stream is used by one thread only
  while (dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(dir);
  for (const auto& name : names) {
    if (!load(name)) {
      auto session = std::make_shared<Session>();
      session->state.id = "{" + name + "}";
      session->dir.reset(::openat(sessions_fd_.get(), name.c_str(),
                                  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (valid_session_id(session->state.id) && session->dir.valid()) remove(session);
    }
  }
  return Status();
}

bool SessionStore::load(const std::string& name) {
  auto session = std::make_shared<Session>();
  session->dir.reset(
      ::openat(sessions_fd_.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!session->dir.valid()) return false;
  auto text = read_small_file(session->dir.get(), kStateFile);
  if (!text) return false;
  auto state = from_json(Json::parse(*text, nullptr, false));
  if (!state || !valid_session_id(state->id) || "{" + name + "}" != state->id) return false;
  session->state = std::move(*state);
  if (session->state.phase == Phase::kUploading) {
    session->progress.reset(open_progress(session->dir.get()));
    if (session->progress.valid()) apply_progress(session->progress.get(), session->state);
    session->data.reset(::openat(session->dir.get(), "data", O_RDWR | O_NOFOLLOW | O_CLOEXEC));
    struct stat st {};
    if (!session->data.valid() || ::fstat(session->data.get(), &st) != 0) return false;
    // Bytes past the recorded count were never acknowledged: drop them.
    if (static_cast<std::uint64_t>(st.st_size) < session->state.received) return false;
    if (::ftruncate(session->data.get(), static_cast<off_t>(session->state.received)) != 0) {
      return false;
    }
  }
  std::lock_guard lock(mutex_);
  sessions_[session->state.id] = std::move(session);
  return true;
}

std::shared_ptr<Session> SessionStore::create(SessionState state) {
  auto session = std::make_shared<Session>();
  session->state = std::move(state);
  std::string name = session->dir_name();
  if (::mkdirat(sessions_fd_.get(), name.c_str(), 0700) != 0) return nullptr;
  session->dir.reset(
      ::openat(sessions_fd_.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (session->dir.valid()) {
    session->data.reset(::openat(session->dir.get(), "data",
                                 O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    session->progress.reset(open_progress(session->dir.get()));
  }
  bool ok = session->data.valid() && session->progress.valid();
  if (ok) {
    std::lock_guard lock(session->mutex);
    ok = persist(*session);
  }
  if (!ok) {
    int saved = errno;
    remove(session);
    errno = saved;
    return nullptr;
  }
  std::lock_guard lock(mutex_);
  sessions_[session->state.id] = session;
  return session;
}

std::shared_ptr<Session> SessionStore::find(const std::string& id, std::int64_t now,
                                            std::uint64_t timeout) {
  std::shared_ptr<Session> session;
  {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return nullptr;
    session = it->second;
  }
  bool expired;
  {
    std::lock_guard lock(session->mutex);
    if (session->removed) return nullptr;
    expired = now - session->state.last_activity > static_cast<std::int64_t>(timeout);
  }
  if (expired) {
    remove(session);
    return nullptr;
  }
  return session;
}

std::size_t SessionStore::count_for_client(const std::string& client) {
  std::vector<std::shared_ptr<Session>> all;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, session] : sessions_) all.push_back(session);
  }
  std::size_t count = 0;
  for (const auto& session : all) {
    std::lock_guard lock(session->mutex);
    if (!session->removed && session->state.client == client) ++count;
  }
  return count;
}

void SessionStore::remove(const std::shared_ptr<Session>& session) {
  {
    std::lock_guard lock(session->mutex);
    session->removed = true;
    session->data.reset();
    session->progress.reset();
    if (session->dir.valid()) {
      for (const char* name : kFiles) ::unlinkat(session->dir.get(), name, 0);
    }
    ::unlinkat(sessions_fd_.get(), session->dir_name().c_str(), AT_REMOVEDIR);
  }
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(session->state.id);
  if (it != sessions_.end() && it->second == session) sessions_.erase(it);
}

std::size_t SessionStore::expire(std::int64_t now, std::uint64_t timeout) {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, session] : sessions_) ids.push_back(id);
  }
  std::size_t before = ids.size();
  for (const auto& id : ids) find(id, now, timeout);
  std::lock_guard lock(mutex_);
  return before > sessions_.size() ? before - sessions_.size() : 0;
}

bool SessionStore::persist(Session& session) {
  if (session.removed) return false;
  std::string text;
  try {
    text = to_json(session.state).dump();
  } catch (const nlohmann::json::exception&) {  // e.g. a string that is not UTF-8
    errno = EINVAL;
    return false;
  }
  UniqueFd fd(::openat(session.dir.get(), kStateTemp,
                       O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid() || !write_all(fd.get(), text) || ::fdatasync(fd.get()) != 0) {
    return false;
  }
  if (::renameat(session.dir.get(), kStateTemp, session.dir.get(), kStateFile) != 0) return false;
  if (::fsync(session.dir.get()) != 0) return false;
  if (session.state.phase != Phase::kUploading && session.progress.valid()) {
    session.progress.reset();  // state.json has the final count: progress is of no more use
    ::unlinkat(session.dir.get(), kProgressFile, 0);
  }
  return true;
}

bool SessionStore::record_progress(Session& session) {
  if (session.removed) return false;
  if (!session.progress.valid()) return persist(session);
  ProgressRecord record{session.state.received, session.state.last_activity,
                        progress_check(session.state.received, session.state.last_activity)};
  if (::pwrite(session.progress.get(), &record, sizeof record, 0) !=
      static_cast<ssize_t>(sizeof record)) {
    return false;
  }
  std::int64_t now = steady_ms();
  if (now - session.progress_synced_ms < kProgressSyncMs) return true;
  if (::fdatasync(session.progress.get()) != 0) return false;
  session.progress_synced_ms = now;
  return true;
}

std::string SessionStore::session_path(const Session& session) const {
  return root_.state_path() + "/" + kSessionsDir + "/" + session.dir_name();
}

}  // namespace openbits::upload

// Upload sessions, kept in memory and persisted under <root>/.bits-upload-server/sessions/
// (one directory per session: state.json, progress, data, reply) so an upload continues
// after a restart. A session's recorded byte count never exceeds the bytes made durable in
// its data file: the count is written to `progress` only after the data file's fdatasync,
// and `progress` itself is fdatasynced at most once a second (a SIGKILL loses no progress;
// a power cut at most the last second's). Thread-safe: the store's map has its own mutex; each
// Session has a mutex for its state and files, and a separate one serializing completion (commit
// and back-end hand-off).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "src/common/unique_fd.h"
#include "src/upload_server/root_dir.h"

namespace openbits::upload {

enum class Phase { kUploading, kCommitted, kReplied };

struct SessionState {
  std::string id;                      // "{GUID}" as sent in BITS-Session-Id
  std::string url_path;                // decoded, "/dir/file"
  std::string query;                   // the job URL's query (appended to the notification URL)
  std::string original_url;            // scheme://host/target of Create-Session
  std::string client;                  // client address (sessions-per-client limit)
  std::optional<std::uint64_t> total;  // from the first fragment's Content-Range
  std::uint64_t received = 0;          // next expected offset (durable)
  Phase phase = Phase::kUploading;
  std::string reply_url;           // set once the reply is ready (upload-reply)
  bool reply_file = false;         // the reply is the session's "reply" file
  std::int64_t last_activity = 0;  // Unix seconds of the last progress
};

class Session {
 public:
  std::mutex mutex;         // guards state, data, persisted
  std::mutex commit_mutex;  // serializes completion; taken before `mutex`
  SessionState state;
  UniqueFd dir;       // the session directory
  UniqueFd data;      // the data file (open while uploading)
  UniqueFd progress;  // the received count, rewritten in place after each fragment
  std::int64_t progress_synced_ms = 0;  // steady clock, when `progress` was last fdatasynced
  bool removed = false;

  std::string dir_name() const;  // GUID without braces
};

class SessionStore {
 public:
  explicit SessionStore(const RootDir& root) : root_(root) {}

  // Loads every persisted session; drops unreadable ones. Fails if the sessions directory
  // cannot be opened.
  [[nodiscard]] Status open();

  // A new session; nullptr with errno on a file-system error.
  std::shared_ptr<Session> create(SessionState state);
  // The live session with this id (not expired), or nullptr.
  std::shared_ptr<Session> find(const std::string& id, std::int64_t now, std::uint64_t timeout);
  std::size_t count_for_client(const std::string& client);
  // Deletes the session's files and forgets it.
  void remove(const std::shared_ptr<Session>& session);
  // Removes sessions idle for longer than `timeout` seconds; returns how many.
  std::size_t expire(std::int64_t now, std::uint64_t timeout);

  // Writes state.json atomically and durably (caller holds session->mutex). False on failure.
  bool persist(Session& session);
  // Records state.received and last_activity in the session's progress file, without the
  // cost of persist(): no rename, no directory sync, an fdatasync only once a second. The
  // caller holds session->mutex and has made the data file durable up to state.received.
  bool record_progress(Session& session);
  std::string session_path(const Session& session) const;

 private:
  bool load(const std::string& name);

  const RootDir& root_;
  UniqueFd sessions_fd_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Session>> sessions_;  // by id
};

std::string new_session_id();  // random version-4 GUID, "{XXXXXXXX-...}"
bool valid_session_id(const std::string& id);
// The canonical form of a session id sent back by a client (case-insensitive), or "".
std::string canonical_session_id(const std::string& id);

}  // namespace openbits::upload

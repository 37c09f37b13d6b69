// TransferEngine: moves the bytes of one file at a time per job, on one engine thread.
// HTTP(S) through a libcurl multi handle (HEAD for size and validators, then GET with
// Range from the durable offset); file:// URLs and plain paths by chunked copy. Every
// file-system operation runs as the job owner (ScopedFsCredentials). Progress is reported
// only for bytes already fdatasync'ed, so the daemon never records bytes that a crash
// could lose.
//
// Threading: start()/stop() are thread-safe and only enqueue; commands run in FIFO order
// on the engine thread, which also makes every TransferObserver call. The engine never
// holds its own lock while calling the observer, so the observer may call start()/stop().
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "openbits/types.h"
#include "src/daemon/security/fs_credentials.h"

namespace openbits::daemon {

struct RemoteValidators {
  std::uint64_t size = kSizeUnknown;
  std::string etag;
  std::string last_modified;  // HTTP Last-Modified; "<sec>.<nsec>" mtime for file sources
  bool accept_ranges = false;
};

struct TransferRequest {
  Guid job_id;
  std::uint32_t file_index = 0;
  std::string remote_name;  // http://, https://, file:// URL, or an absolute local path
  // Absolute path of the temp file in the destination dir (".BIT<hex>.tmp"); created as the
  // owner if missing, relative to its directory opened with O_NOFOLLOW, never through a
  // symlink, mode 0666 & ~owner.creation_mask (open_file_for_writing, owner_path.h).
  std::string temp_name;
  std::uint64_t durable_offset = 0;  // the temp file is truncated to this, then resumed
  RemoteValidators validators;       // as recorded earlier (empty on first start)
  std::vector<FileRange> ranges;     // AddFileWithRanges: written back to back; empty = all
  Credentials owner;                 // every file-system operation runs as the owner
  bool dynamic_content = false;      // no HEAD, no size needed, always from byte 0
  std::string custom_headers;        // "Name: value\r\n...", sent on every request
  std::uint32_t security_flags = 0;  // BG_SSL_* and BG_HTTP_REDIRECT_POLICY_*
  std::string http_method = "GET";   // a custom verb: no HEAD, always from byte 0
  std::uint64_t checkpoint_bytes = 8ull << 20;          // fdatasync + on_progress at least
  std::chrono::milliseconds checkpoint_interval{1000};  // every 8 MiB or every second
};

// Every call happens on the engine thread, never with the engine's lock held; the observer
// may call start()/stop() from inside.
class TransferObserver {
 public:
  virtual ~TransferObserver() = default;
  // The server answered (HEAD ok / source opened): the job goes TRANSFERRING.
  virtual void on_connected(std::uint64_t token) = 0;
  // Right after on_connected. size = the remote size (sum of the ranges for ranged files;
  // kSizeUnknown for dynamic content without Content-Length). restarted: the temp file was
  // cut below request.durable_offset (remote file changed, dynamic content or custom verb),
  // so progress starts again from 0.
  virtual void on_validators(std::uint64_t token, const RemoteValidators& validators,
                             bool restarted) = 0;
  // Only after fdatasync of the temp file covers these bytes.
  virtual void on_progress(std::uint64_t token, std::uint64_t durable_bytes) = 0;
  // All bytes written and fdatasync'ed; temp file closed. last_modified_ms = server
  // Last-Modified (or the source's mtime), 0 if unknown.
  virtual void on_complete(std::uint64_t token, std::uint64_t total_bytes,
                           std::int64_t last_modified_ms) = 0;
  // The transfer is over; bytes written before a non-local failure are durable and were
  // reported through on_progress.
  virtual void on_error(std::uint64_t token, HRESULT code, ErrorContext context, bool transient,
                        const std::string& detail) = 0;
};

class TransferEngine {
 public:
  explicit TransferEngine(TransferObserver& observer);
  ~TransferEngine();
  TransferEngine(const TransferEngine&) = delete;
  TransferEngine& operator=(const TransferEngine&) = delete;

  // Returns a unique token at once; commands run in FIFO order on the engine thread.
  std::uint64_t start(TransferRequest request);
  // Asynchronous; once processed, no callback carries `token`. A stop followed by a start
  // of the same file runs in that order, so a file never has two writers. The temp file
  // stays for a later resume. The destructor stops everything the same way.
  void stop(std::uint64_t token);

  struct Transfer;  // internal; defined in transfer_internal.h

 private:
  struct Command {
    std::uint64_t token = 0;
    std::unique_ptr<TransferRequest> request;  // null: stop
  };
  void run();
  void process_commands();
  void begin(std::uint64_t token, TransferRequest request);
  void end(std::uint64_t token);
  void handle_done(void* easy, int result);
  void pump_copies();

  TransferObserver& observer_;
  void* multi_ = nullptr;  // CURLM*
  std::mutex mutex_;
  std::deque<Command> commands_;
  bool quit_ = false;
  std::uint64_t next_token_ = 1;
  std::map<std::uint64_t, std::unique_ptr<Transfer>> transfers_;  // engine thread only
  std::thread thread_;
};

}  // namespace openbits::daemon

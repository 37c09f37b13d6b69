// FileSyncer: makes finished temp files durable off the engine thread, so that a job of
// many small files does not wait for one fdatasync (~5 ms on this disk) per file before
// it asks for the next one. Files that finish while a sync runs are synced together: a
// batch of more than one starts with a syncfs() of the first file's file system, which
// writes all of them back in one journal commit, and then fdatasync()s each file, which
// is what reports the file's own errors and is the durability guarantee.
//
// Threading: add() from any thread; the `done` callback runs on the syncer's own thread,
// once per batch, and must only enqueue. The destructor drops what is not synced yet.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace openbits::daemon {

class FileSyncer {
 public:
  struct Result {
    std::uint64_t token = 0;
    int error = 0;  // errno of the failed fdatasync; 0: the file is durable
  };
  using Done = std::function<void(const std::vector<Result>&)>;

  explicit FileSyncer(Done done);
  ~FileSyncer();
  FileSyncer(const FileSyncer&) = delete;
  FileSyncer& operator=(const FileSyncer&) = delete;

  // Takes `fd` (closed once synced) and reports `token` when its data is durable.
  void add(std::uint64_t token, int fd);

 private:
  struct Item {
    std::uint64_t token = 0;
    int fd = -1;
  };
  void run();
  static std::vector<Result> sync_batch(const std::vector<Item>& batch);

  Done done_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Item> pending_;
  bool quit_ = false;
  std::thread thread_;
};

}  // namespace openbits::daemon

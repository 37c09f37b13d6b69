// FileSyncer (file_syncer.h), and the engine's side of it: a download whose last byte is
// written and checked is handed to the syncer (TransferObserver::on_written), and
// completed once the syncer reports it durable.
#include "src/daemon/transfer/file_syncer.h"

#include <unistd.h>

#include <cstring>
#include <utility>

#include "src/daemon/transfer/transfer_internal.h"

namespace openbits::daemon {

FileSyncer::FileSyncer(Done done) : done_(std::move(done)), thread_([this] { run(); }) {}

FileSyncer::~FileSyncer() {
  {
    std::lock_guard lock(mutex_);
    quit_ = true;
  }
  wake_.notify_one();
  thread_.join();
  for (const Item& item : pending_) ::close(item.fd);
}

void FileSyncer::add(std::uint64_t token, int fd) {
  {
    std::lock_guard lock(mutex_);
    pending_.push_back({token, fd});
  }
  wake_.notify_one();
}

void FileSyncer::run() {
  for (;;) {
    std::vector<Item> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return quit_ || !pending_.empty(); });
      if (quit_) return;
      batch.swap(pending_);
    }
    done_(sync_batch(batch));
  }
}

std::vector<FileSyncer::Result> FileSyncer::sync_batch(const std::vector<Item>& batch) {
  // One journal commit for the whole batch; its result is not relied upon: the
  // fdatasync that follows (cheap once the data is written back) is what counts.
  if (batch.size() > 1) (void)::syncfs(batch.front().fd);
  std::vector<Result> results;
  for (const Item& item : batch) {
    int error = ::fdatasync(item.fd) == 0 ? 0 : errno;
    ::close(item.fd);
    results.push_back({item.token, error});
  }
  return results;
}

void TransferEngine::start_syncer() {
  syncer_ = std::make_unique<FileSyncer>([this](const std::vector<FileSyncer::Result>& done) {
    {
      std::lock_guard lock(mutex_);
      for (const FileSyncer::Result& r : done) {
        Command command;
        command.token = r.token;
        command.synced = r.error;
        commands_.push_back(std::move(command));
      }
    }
    curl_multi_wakeup(static_cast<CURLM*>(multi_));
  });
}

void TransferEngine::complete_later(Transfer& t) {
  awaiting_sync_[t.token] = {t.offset, t.mtime_ms};
  int fd = std::exchange(t.fd, -1);
  transfer_detail::report_body_sha256(t);
  observer_.on_written(t.token);
  syncer_->add(t.token, fd);
}

void TransferEngine::finish_sync(std::uint64_t token, int error) {
  auto it = awaiting_sync_.find(token);
  if (it == awaiting_sync_.end()) return;  // stopped meanwhile
  Written written = it->second;
  awaiting_sync_.erase(it);
  if (error == 0) {
    observer_.on_complete(token, written.total, written.mtime_ms);
    return;
  }
  Failure f = classify_local_errno(error);
  observer_.on_error(token, f.code, f.context, f.transient, 0,
                     std::string("fdatasync: ") + std::strerror(error));
}

}  // namespace openbits::daemon

// The peer source of the transfer engine (docs/peer-caching.md "Fetching"): after the
// origin's HEAD, a download with from_peers asks the peers that hold its content for the
// bytes still missing, chunk by chunk on a worker thread, moving to the next holder after
// any failure; the origin's GET then takes whatever the peers did not give. Before the file
// counts as transferred, bytes from peers are checked against the origin's digest when it
// publishes one; a mismatch starts the file again from the origin only.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "openbits/names.h"
#include "src/daemon/transfer/transfer_internal.h"

namespace openbits::daemon {
namespace transfer_detail {
namespace {

constexpr std::uint64_t kPeerChunk = 1ull << 20;

// Writes `bytes` at `offset` of the fetch's descriptor unless cancelled; false otherwise.
bool write_chunk(PeerFetch& f, const std::string& bytes, std::uint64_t offset) {
  std::lock_guard lock(f.mutex);
  if (f.cancelled) return false;
  const char* data = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::pwrite(f.fd, data, left, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      f.detail = std::string("write: ") + std::strerror(errno);
      return false;
    }
    data += n;
    left -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  if (f.hash) f.hash->update(bytes);
  return true;
}

bool cancelled(PeerFetch& f) {
  std::lock_guard lock(f.mutex);
  return f.cancelled;
}

}  // namespace

bool wants_peers(const Transfer& t) {
  if (t.is_upload() || !t.peer_source || t.peers_asked || t.origin_only) return false;
  const DownloadRequest& d = t.download();
  return d.from_peers && d.ranges.empty() && t.total != kSizeUnknown && t.offset < t.total;
}

std::shared_ptr<PeerFetch> make_peer_fetch(Transfer& t) {
  auto f = std::make_shared<PeerFetch>();
  f->fd = ::dup(t.fd);
  f->url = t.common().remote_name;
  f->validators = t.expected;
  f->validators.size = t.total;
  f->first = t.offset;
  f->end = t.total;
  if (t.body_hash && t.hashed == t.offset) f->hash = std::move(t.body_hash);
  t.body_hash.reset();
  return f;
}

void run_peer_fetch(PeerFetch& f, PeerSource& source) {
  if (f.fd < 0) return;
  PeerSource::Holders holders = source.holders(f.url, f.validators);
  std::size_t peer = 0;
  std::uint64_t offset = f.first;
  while (offset < f.end && peer < holders.peers.size() && !cancelled(f)) {
    std::uint64_t length = std::min(kPeerChunk, f.end - offset);
    auto bytes = source.get_range(holders.peers[peer], holders.key, offset, length);
    if (!bytes || bytes->size() != length) {
      ++peer;  // this range goes to the next holder, the origin after the last
      continue;
    }
    if (!write_chunk(f, *bytes, offset)) break;
    if (f.senders.empty() || f.senders.back() != holders.peers[peer]) {
      f.senders.push_back(holders.peers[peer]);  // read by the engine once the worker is done
    }
    offset += length;
    f.written.store(offset - f.first);
  }
  if (holders.peers.empty()) f.detail = "no peer holds it";
}

bool sync_peer_bytes(Transfer& t, bool now) {
  PeerFetch& f = *t.peer_fetch;
  std::uint64_t written = f.written.load();
  if (written == t.peer_reported) return true;
  if (!now && Transfer::Clock::now() - t.last_sync < t.download().checkpoint_interval) return true;
  std::uint64_t more = written - t.peer_reported;
  t.peer_reported = written;
  t.offset = f.first + written;
  t.peer_bytes += more;
  t.observer->on_peer_bytes(t.token, more);
  return checkpoint(t);
}

bool take_peer_bytes(Transfer& t) {
  PeerFetch& f = *t.peer_fetch;
  bool synced = sync_peer_bytes(t, true);
  t.offset = f.first + f.written.load();
  t.body_hash = std::move(f.hash);
  t.hashed = t.body_hash ? t.offset : 0;
  spdlog::debug("job {} file {}: {} bytes from peers{}{}", to_string(t.common().job_id),
                t.common().file_index, f.written.load(), f.detail.empty() ? "" : ": ", f.detail);
  t.peer_senders.insert(t.peer_senders.end(), f.senders.begin(), f.senders.end());
  t.peer_fetch.reset();  // its worker is done; the engine joins it
  t.peer_reported = 0;
  return synced;
}

bool peer_bytes_wrong(Transfer& t) {
  if (t.peer_bytes == 0 || t.origin_sha256.empty()) return false;
  const std::string& sha = finished_body_sha256(t);
  if (sha == t.origin_sha256) return false;
  spdlog::warn(
      "job {} file {}: {} bytes from peers, and the file {} the origin's digest: "
      "fetching it again from the origin",
      to_string(t.common().job_id), t.common().file_index, t.peer_bytes,
      sha.empty() ? "cannot be checked against" : "does not match");
  if (!sha.empty()) {
    for (const std::string& peer : t.peer_senders) t.peer_source->distrust(peer);
  }
  return true;
}

bool refetch_from_origin(Transfer& t, CURLM* multi) {
  t.origin_only = true;
  t.peer_bytes = 0;
  t.peer_senders.clear();
  report_restart(t);  // the durable count (and the bytes from peers) go to 0 first
  if (!cut_temp(t, 0)) return false;
  if (start_get(t, multi)) return true;
  t.fail({hr::E_FAIL, ErrorContext::kRemoteFile, true}, "cannot start the GET");
  return false;
}

}  // namespace transfer_detail

using transfer_detail::Transfer;

void TransferEngine::start_peer_fetches() {
  for (auto& [token, t] : transfers_) {
    if (t->phase != Transfer::Phase::kPeer || t->peer_fetch) continue;
    std::shared_ptr<PeerFetch> fetch = transfer_detail::make_peer_fetch(*t);
    t->peer_fetch = fetch;
    PeerSource* source = t->peer_source;
    peer_workers_.push_back({std::thread([this, fetch, source, token = token] {
                               transfer_detail::run_peer_fetch(*fetch, *source);
                               fetch->done.store(true);
                               Command command;
                               command.token = token;
                               command.peer_done = true;
                               enqueue(std::move(command));
                             }),
                             fetch});
  }
}

void TransferEngine::peer_fetched(std::uint64_t token) {
  auto it = transfers_.find(token);
  if (it == transfers_.end() || it->second->phase != Transfer::Phase::kPeer) return;
  Transfer& t = *it->second;
  auto* multi = static_cast<CURLM*>(multi_);
  bool running = transfer_detail::take_peer_bytes(t) && !t.failure;
  if (running) {
    // The rest from the origin; with every byte here, the origin's last look at the
    // validators (and the digest check) before the file counts as transferred.
    running = t.offset < t.total ? transfer_detail::start_get(t, multi)
                                 : transfer_detail::start_verify(t, multi);
    if (!running) t.fail({hr::E_FAIL, ErrorContext::kRemoteFile, true}, "cannot start a request");
  }
  if (running) return;
  if (t.failure) {
    Failure f = *t.failure;
    t.observer->on_error(t.token, f.code, f.context, f.transient, f.retry_after_s, t.detail);
  }
  transfers_.erase(it);
}

void TransferEngine::join_peer_workers(bool all) {
  for (auto it = peer_workers_.begin(); it != peer_workers_.end();) {
    if (all || it->fetch->done.load()) {
      it->thread.join();
      it = peer_workers_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace openbits::daemon

// JobManager: the peer cache (docs/peer-caching.md, part 1): loading and verifying it,
// expiring records, serving leases to the peer server, and its administration. The
// bookkeeping runs under the manager's mutex; copying and hashing run on peer_worker_.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "openbits/names.h"
#include "src/daemon/core/job_manager.h"
#include "src/daemon/core/peer_cache_content.h"
#include "src/daemon/core/peer_policy.h"
#include "src/daemon/security/fs_credentials.h"
#include "src/daemon/security/owner_path.h"
#include "src/daemon/security/user_open.h"

namespace openbits::daemon {
namespace {

constexpr std::int64_t kExpireIntervalMs = 60'000;
constexpr std::uint32_t kServerFlag = 0x2;

// What is never cached (docs/peer-caching.md): content that may be one user's, dynamic
// content, byte ranges, uploads and their replies, anything not from an HTTP origin
// (plain_origin_download), and anything not transferred and validated.
bool may_cache(const JobRecord& job, const FileRecord& file) {
  return plain_origin_download(job, file) && file.transferred &&
         file.info.progress.bytes_total != kSizeUnknown &&
         !(file.info.validation_known && !file.info.validation_state);
}

// The finished temp file, opened read-only as its owner (never as root), so the copy reads
// what the owner could read and the descriptor stays good across Complete's rename.
UniqueFd open_finished_file(const JobRecord& job, const FileRecord& file) {
  ScopedFsCredentials as_owner(credentials_for(job.info.owner_uid, job.owner_gid));
  if (!as_owner.ok()) return UniqueFd();
  const std::string& path = file.info.temporary_name;
  OwnerDir dir(path, job.info.owner_uid == 0);
  if (!dir.ok()) return UniqueFd();
  RegularFile opened = open_regular_file(dir.fd(), leaf_name(path), O_NOFOLLOW);
  return UniqueFd(opened.fd);
}

Status peer_caching_disabled() {
  return Status(hr::BG_E_PEERCACHING_DISABLED, "the peer cache could not be loaded (see the log)");
}

}  // namespace

// ---- start-up, verification, expiry

void JobManager::load_peer_cache() {
  if (Status s = peer_cache_.load(); !s.ok()) {
    spdlog::error("peer caching is off: cannot load the peer cache: {}", s.message());
    return;
  }
  peer_cache_ready_ = true;
  std::size_t loaded = peer_cache_.records().size();
  spdlog::info("peer cache: {} record(s), machine flags {:#x}", loaded,
               peer_cache_.configuration_flags());
  if (loaded > 0) peer_worker_.post([this] { verify_loaded_records(); });
}

// Each record loaded at start-up is hashed again before its first serve; the hashing runs
// without the manager's mutex.
void JobManager::verify_loaded_records() {
  std::vector<Guid> ids;
  {
    std::lock_guard lock(mutex_);
    ids = peer_cache_.unverified();
  }
  for (const Guid& id : ids) {
    std::optional<PeerCache::PendingVerify> pending;
    {
      std::lock_guard lock(mutex_);
      auto begun = peer_cache_.begin_verify(id);
      if (!begun.ok()) continue;  // deleted meanwhile
      pending.emplace(std::move(begun).value());
    }
    Result<std::string> sha = pending->content.valid()
                                  ? sha256_of_file(pending->content.get())
                                  : Result<std::string>(Status(hr::E_FAIL, "cannot open it"));
    std::lock_guard lock(mutex_);
    if (Status s = peer_cache_.finish_verify(id, sha); !s.ok()) {
      spdlog::warn("peer cache: record {} dropped: {}", to_string(id), s.message());
    }
  }
}

void JobManager::expire_peer_cache() {
  if (!peer_cache_ready_) return;
  std::int64_t now = clock_.monotonic_ms();
  if (last_expire_ms_ && now - *last_expire_ms_ < kExpireIntervalMs) return;
  last_expire_ms_ = now;
  auto expired = peer_cache_.expire();
  if (!expired.ok()) {
    spdlog::error("peer cache: cannot expire records: {}", expired.status().message());
  } else if (*expired > 0) {
    spdlog::info("peer cache: {} record(s) expired", *expired);
  }
}

// ---- adding validated files

bool JobManager::caches_files_of(const JobRecord& job) const {
  return peer_cache_ready_ && (job.info.peer_caching_flags & kServerFlag) != 0 &&
         (peer_cache_.configuration_flags() & kServerFlag) != 0;
}

std::vector<JobManager::CacheCandidate> JobManager::cache_candidates(
    const JobRecord& job, std::optional<std::uint32_t> only) {
  std::vector<CacheCandidate> candidates;
  if (!caches_files_of(job)) return candidates;
  for (const FileRecord& file : job.files) {
    if ((only && file.info.index != *only) || !may_cache(job, file)) continue;
    if (file.received_sha256.empty()) {
      // Only bytes bitsd itself wrote are ever served: without the hash of what it wrote
      // (bitsd restarted, the transfer resumed), what the user's file holds is not known.
      spdlog::info("job {} file {}: not cached: its bytes were not all received in one transfer",
                   to_string(job.info.id), file.info.index);
      continue;
    }
    UniqueFd source = open_finished_file(job, file);
    if (!source.valid()) {
      spdlog::warn("job {} file {}: not cached: cannot open it as its owner",
                   to_string(job.info.id), file.info.index);
      continue;
    }
    PeerCacheRecord record;
    record.url = file.info.remote_name;
    record.size = file.info.progress.bytes_total;
    record.last_modified = file.last_modified;
    record.etag = file.etag;
    record.file_mtime_ms = file.remote_mtime_ms;
    record.validated = true;
    candidates.push_back({std::move(record), std::move(source), file.received_sha256});
  }
  return candidates;
}

void JobManager::post_cache_adds(std::vector<CacheCandidate> candidates) {
  for (CacheCandidate& candidate : candidates) {
    auto shared = std::make_shared<CacheCandidate>(std::move(candidate));
    peer_worker_.post([this, shared] { add_to_cache(*shared); });
  }
}

void JobManager::evict_cached(const JobRecord& job, const FileRecord& file) {
  if (!peer_cache_ready_) return;
  std::string key = PeerCache::content_key(file.info.remote_name, file.info.progress.bytes_total,
                                           file.last_modified, file.etag);
  for (const PeerCacheRecord& r : peer_cache_.records()) {
    if (r.key != key) continue;
    Status s = peer_cache_.remove(r.id);
    spdlog::info("job {} file {} failed validation: cache record {} {}", to_string(job.info.id),
                 file.info.index, to_string(r.id),
                 s.ok() ? "deleted" : "stays for now: " + s.message());
  }
}

// On peer_worker_: the cache's bookkeeping under the mutex, the copy and its fdatasync
// outside it. A failure is logged; it never touches the job.
void JobManager::add_to_cache(CacheCandidate& candidate) {
  std::optional<PeerCache::PendingAdd> pending;
  std::uint64_t size = candidate.record.size;
  {
    std::lock_guard lock(mutex_);
    auto start = peer_cache_.begin_add(candidate.record);
    if (!start.ok()) {
      spdlog::error("peer cache: cannot cache {}: {}", candidate.record.url,
                    start.status().message());
      return;
    }
    if (!start->pending) {
      if (!start->existing) spdlog::info("peer cache: {} does not fit", candidate.record.url);
      return;
    }
    pending.emplace(std::move(*start->pending));
  }
  Result<std::string> sha = copy_with_sha256(candidate.source.get(), pending->target.get(), size);
  if (sha.ok() && *sha != candidate.received_sha256) {
    // The owner changed the file after bitsd wrote it (or while it did): never served.
    spdlog::warn(
        "peer cache: {} not cached: the file is not what bitsd received (SHA-256 {} "
        "instead of {})",
        candidate.record.url, *sha, candidate.received_sha256);
    sha = Status(hr::E_FAIL, "the file changed since bitsd received it");
  }
  if (sha.ok() && ::fdatasync(pending->target.get()) != 0) {
    sha = Status(hresult_from_errno(errno), "cannot sync the cached copy");
  }
  std::lock_guard lock(mutex_);
  auto added = peer_cache_.finish_add(std::move(*pending), sha);
  if (!added.ok()) {
    spdlog::error("peer cache: cannot cache {}: {}", candidate.record.url,
                  added.status().message());
    return;
  }
  spdlog::info("peer cache: record {} holds {} ({} bytes)", to_string(added->id), added->url,
               added->size);
}

// ---- serving (PeerContentSource)

bool JobManager::serving_enabled() {
  std::lock_guard lock(mutex_);
  return peer_cache_ready_ && (peer_cache_.configuration_flags() & 0x2) != 0;
}

Result<PeerCache::Lease> JobManager::begin_serve(const std::string& key) {
  std::lock_guard lock(mutex_);
  if (!peer_cache_ready_ || (peer_cache_.configuration_flags() & 0x2) == 0) {
    return Status(hr::BG_E_NOT_FOUND, "this machine does not serve peers");
  }
  return peer_cache_.begin_serve(key);
}

void JobManager::end_serve(const Guid& id) {
  std::lock_guard lock(mutex_);
  peer_cache_.end_serve(id);
}

// ---- administration

Status JobManager::check_peer_cache_admin(const Caller& caller) const {
  if (!caller.admin) {
    return Status(hr::E_ACCESSDENIED, "only administrators may change or list the peer cache");
  }
  if (!peer_cache_ready_) return peer_caching_disabled();
  return Status();
}

Result<std::uint32_t> JobManager::peer_caching_flags(const Caller&) {
  std::lock_guard lock(mutex_);
  if (!peer_cache_ready_) return peer_caching_disabled();
  return peer_cache_.configuration_flags();
}

Status JobManager::set_peer_caching_flags(const Caller& caller, std::uint32_t flags) {
  std::lock_guard lock(mutex_);
  if (Status s = check_peer_cache_admin(caller); !s.ok()) return s;
  Status s = peer_cache_.set_configuration_flags(flags);
  if (s.ok()) {
    spdlog::info("uid {} set the machine's peer-caching flags to {:#x} (in force: {:#x})",
                 caller.uid, flags, peer_cache_.configuration_flags());
  }
  return s;
}

Result<std::vector<PeerCacheRecord>> JobManager::cache_records(const Caller& caller) {
  std::lock_guard lock(mutex_);
  if (Status s = check_peer_cache_admin(caller); !s.ok()) return s;
  return peer_cache_.records();
}

Result<PeerCacheRecord> JobManager::cache_record(const Caller& caller, const Guid& id) {
  std::lock_guard lock(mutex_);
  if (Status s = check_peer_cache_admin(caller); !s.ok()) return s;
  auto record = peer_cache_.record(id);
  if (!record) return Status(hr::BG_E_NOT_FOUND, "no cache record " + to_string(id));
  return *record;
}

Status JobManager::delete_cache_record(const Caller& caller, const Guid& id) {
  std::lock_guard lock(mutex_);
  if (Status s = check_peer_cache_admin(caller); !s.ok()) return s;
  Status s = peer_cache_.remove(id);
  if (s.ok()) spdlog::info("uid {} deleted cache record {}", caller.uid, to_string(id));
  return s;
}

Status JobManager::delete_cache_url(const Caller& caller, const std::string& url) {
  std::lock_guard lock(mutex_);
  if (Status s = check_peer_cache_admin(caller); !s.ok()) return s;
  Status s = peer_cache_.remove_url(url);
  if (s.ok()) spdlog::info("uid {} deleted the cache records of a URL", caller.uid);
  return s;
}

Status JobManager::clear_cache(const Caller& caller) {
  std::lock_guard lock(mutex_);
  if (Status s = check_peer_cache_admin(caller); !s.ok()) return s;
  Status s = peer_cache_.clear();
  if (s.ok()) spdlog::info("uid {} cleared the peer cache", caller.uid);
  return s;
}

Result<PeerCacheLimits> JobManager::cache_limits(const Caller& caller) {
  std::lock_guard lock(mutex_);
  if (Status s = check_peer_cache_admin(caller); !s.ok()) return s;
  return PeerCacheLimits{peer_cache_.limit_percent(), peer_cache_.limit_bytes(),
                         peer_cache_.used_bytes(), peer_cache_.expiration_s()};
}

Status JobManager::set_cache_limit(const Caller& caller, std::uint32_t percent) {
  std::lock_guard lock(mutex_);
  if (Status s = check_peer_cache_admin(caller); !s.ok()) return s;
  return peer_cache_.set_limit_percent(percent);
}

Status JobManager::set_cache_expiration(const Caller& caller, std::int64_t seconds) {
  std::lock_guard lock(mutex_);
  if (Status s = check_peer_cache_admin(caller); !s.ok()) return s;
  return peer_cache_.set_expiration_s(seconds);
}

}  // namespace openbits::daemon

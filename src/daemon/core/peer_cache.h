// PeerCache: the copies of downloaded files this machine can serve to peers, their records
// and limits, and the machine's peer-caching settings (BITS 3.0's peer cache, bits-spec
// §5.2; docs/peer-caching.md, part 1). Each content is the cache's own copy in
// <state-dir>/peercache/<id> (mode 0600, directory 0700), written by the daemon from a
// descriptor the caller opened as the file's owner, so serving never opens a user's file.
// Records and settings live in the Store (tables peer_cache and settings); a record is
// committed only after its content is fdatasync'd.
//
// Limits: the cache holds at most limit_percent of the state directory's file system
// (least recently accessed records go first), a file bigger than that is not cached, and
// a record not accessed for expiration_s goes at expire(). A record being served (between
// begin_serve and end_serve) is never removed: removing it answers BG_E_BUSYCACHERECORD,
// and eviction passes over it.
//
// Threading: not thread-safe. bitsd calls it under JobManager's mutex, like the Store it
// writes (one SQLite connection); a content file is read outside that lock through the
// descriptor begin_serve returns, and the long parts of adding and verifying (the copy,
// the hashing) run outside it too: begin_add / finish_add, begin_verify / finish_verify.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "openbits/status.h"
#include "src/common/unique_fd.h"
#include "src/daemon/core/peer_cache_record.h"
#include "src/daemon/core/store.h"
#include "src/daemon/platform/clock.h"

namespace openbits::daemon {

class PeerCache {
 public:
  // The size in bytes of the file system that holds `dir`; tests pass a fixed one.
  using FileSystemSize = std::function<Result<std::uint64_t>(const std::string& dir)>;
  static Result<std::uint64_t> statvfs_size(const std::string& dir);

  // BITS's defaults and ranges (bits-spec §5.2): 1 % of the disk, at most 80 %; a content
  // age of 90 days, 1 to 120 days. Machine flags: 0x1 client, 0x2 server.
  static constexpr std::uint32_t kDefaultLimitPercent = 1;
  static constexpr std::uint32_t kMaxLimitPercent = 80;
  static constexpr std::int64_t kDefaultExpirationS = 90LL * 86'400;
  static constexpr std::int64_t kMinExpirationS = 86'400;
  static constexpr std::int64_t kMaxExpirationS = 120LL * 86'400;
  static constexpr std::uint32_t kConfigurationFlagsMask = 0x3;

  // `policy_flags`: the config's peer_caching_flags, which win over the saved flags.
  PeerCache(Store& store, const Clock& clock, std::string state_dir,
            std::optional<std::uint32_t> policy_flags, FileSystemSize fs_size = statvfs_size);

  // At start-up: makes the content directory, reads the settings and records, drops each
  // record whose content file is missing or not of its size, and deletes content files no
  // record names. Records loaded are unverified until verify() (see begin_serve).
  Status load();

  // The name a content has on the wire: SHA-256 of "openbits-peer-v1\n" URL "\n" size "\n"
  // Last-Modified "\n" ETag, lower-case hex.
  static std::string content_key(std::string_view url, std::uint64_t size,
                                 std::string_view last_modified, std::string_view etag);

  // Caches `record`'s content, read from `source` (the caller opened it as its owner;
  // it must hold exactly record.size bytes). Fills in id, key, sha256 and the times, and
  // returns the record as stored; nullopt when it does not fit (bigger than the cache, or
  // records being served hold the room). A content already cached under the same key is
  // not copied again: that record is returned, touched (and validated if `record` is).
  // Older records of the same URL (other validators) are removed. E_INVALIDARG when the
  // copy does not match record.origin_digest.
  Result<std::optional<PeerCacheRecord>> add(PeerCacheRecord record, int source);

  // add() in three parts, so the caller's lock is not held for the copy. begin_add does
  // what add() does before the copy: `existing` is the record already cached under the
  // same key (touched), or else `pending` is the new record with its empty content file
  // (its size reserved in the cache), or neither when it does not fit. The caller copies
  // into pending->target outside its lock (copy_with_sha256, fdatasync) and hands the
  // result to finish_add, which commits the record or deletes the file.
  struct PendingAdd {
    PeerCacheRecord record;
    UniqueFd target;
  };
  struct AddStart {
    std::optional<PeerCacheRecord> existing;
    std::optional<PendingAdd> pending;
  };
  Result<AddStart> begin_add(PeerCacheRecord record);
  Result<PeerCacheRecord> finish_add(PendingAdd pending, const Result<std::string>& sha256);

  // The record of `key`, touched (its age starts again); nullopt when none.
  Result<std::optional<PeerCacheRecord>> find(const std::string& key);
  std::optional<PeerCacheRecord> record(const Guid& id) const;
  // Every record, oldest first.
  std::vector<PeerCacheRecord> records() const;
  Status set_validated(const Guid& id, bool validated);

  // BG_E_NOT_FOUND for an unknown id, BG_E_BUSYCACHERECORD while it is served.
  Status remove(const Guid& id);
  // Every record of `url` (S_OK when there is none); BG_E_BUSYCACHERECORD when some were
  // being served: those stay, the others go.
  Status remove_url(const std::string& url);
  // Every record; BG_E_BUSYCACHERECORD as remove_url.
  Status clear();
  // Removes the records not accessed for expiration_s (but those being served); returns
  // how many went.
  Result<std::size_t> expire();

  // Serving one content: a validated, verified record of `key` (touched), and its content
  // opened read-only; BG_E_NOT_FOUND otherwise. The record counts as busy until end_serve.
  struct Lease {
    PeerCacheRecord record;
    UniqueFd content;
  };
  Result<Lease> begin_serve(const std::string& key);
  void end_serve(const Guid& id);
  // Hashes a record's content again: a match makes it servable, a mismatch drops it
  // (BG_E_NOT_FOUND then). For records loaded at start-up, before their first serve.
  Status verify(const Guid& id);
  // verify() in two parts, the hashing outside the caller's lock: the content opened
  // read-only (BG_E_NOT_FOUND for an unknown id), then the hash of it applied.
  struct PendingVerify {
    Guid id{};
    UniqueFd content;
  };
  Result<PendingVerify> begin_verify(const Guid& id);
  Status finish_verify(const Guid& id, const Result<std::string>& sha256);
  // The loaded records not verified yet.
  std::vector<Guid> unverified() const;

  std::uint32_t limit_percent() const { return limit_percent_; }
  // 1..kMaxLimitPercent, else E_INVALIDARG. Shrinking evicts least recently accessed records.
  Status set_limit_percent(std::uint32_t percent);
  // limit_percent of the file system's size; 0 when it cannot be measured.
  std::uint64_t limit_bytes() const;
  std::uint64_t used_bytes() const;
  std::int64_t expiration_s() const { return expiration_s_; }
  // kMinExpirationS..kMaxExpirationS, else E_INVALIDARG.
  Status set_expiration_s(std::int64_t seconds);

  // The machine's flags in force: the policy when there is one, else the saved value.
  std::uint32_t configuration_flags() const;
  // Saves `flags` (0..3, else E_INVALIDARG); BG_S_OVERRIDDEN_BY_POLICY when a policy is in
  // force with another value.
  Status set_configuration_flags(std::uint32_t flags);

  std::string content_path(const Guid& id) const;

 private:
  struct Entry {
    PeerCacheRecord record;
    int busy = 0;           // leases being served
    bool verified = false;  // its SHA-256 checked since it was loaded (or computed by add)
  };

  Status open_directory();
  void read_settings(const std::map<std::string, std::int64_t>& settings);
  Status drop_damaged_records();
  void delete_orphan_files();
  Entry* entry_by_key(const std::string& key);
  Status touch(Entry& entry);
  Status erase(Guid id);  // by value: callers pass an entry's own id
  Status remove_where(const std::function<bool(const PeerCacheRecord&)>& matches);
  Status make_room(std::uint64_t size, std::uint64_t limit);
  Result<std::optional<PeerCacheRecord>> add_existing(Entry& entry, bool validated);

  Store& store_;
  const Clock& clock_;
  std::string dir_;
  UniqueFd dir_fd_;
  std::optional<std::uint32_t> policy_flags_;
  FileSystemSize fs_size_;
  std::map<Guid, Entry> entries_;
  std::uint32_t limit_percent_ = kDefaultLimitPercent;
  std::int64_t expiration_s_ = kDefaultExpirationS;
  std::uint32_t saved_flags_ = 0;
  std::uint64_t reserved_bytes_ = 0;  // begin_add's records not finished yet
};

}  // namespace openbits::daemon

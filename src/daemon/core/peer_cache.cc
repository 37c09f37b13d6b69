// The peer cache; see peer_cache.h.
#include "src/daemon/core/peer_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <system_error>

#include "openbits/names.h"
#include "src/common/ids.h"
#include "src/daemon/core/job_files.h"
#include "src/daemon/core/peer_cache_content.h"

namespace openbits::daemon {
namespace {

// The rows of the settings table this class owns.
constexpr const char* kFlagsSetting = "peer_caching_flags";
constexpr const char* kLimitSetting = "peer_cache_limit_percent";
constexpr const char* kExpirationSetting = "peer_cache_expiration_s";

Status errno_status(const std::string& what) {
  int err = errno;
  return Status(hresult_from_errno(err),
                what + ": " + std::error_code(err, std::generic_category()).message());
}

// A content file's name: the record's GUID without its braces.
std::string content_name(const Guid& id) {
  std::string text = to_string(id);
  return text.substr(1, text.size() - 2);
}

Status busy(const Guid& id) {
  return Status(hr::BG_E_BUSYCACHERECORD, "cache record " + to_string(id) + " is being served");
}

Status not_found(const std::string& what) {
  return Status(hr::BG_E_NOT_FOUND, "no cache record " + what);
}

}  // namespace

Result<std::uint64_t> PeerCache::statvfs_size(const std::string& dir) {
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) != 0) return errno_status("cannot measure " + dir);
  return std::uint64_t{fs.f_blocks} * fs.f_frsize;
}

PeerCache::PeerCache(Store& store, const Clock& clock, std::string state_dir,
                     std::optional<std::uint32_t> policy_flags, FileSystemSize fs_size)
    : store_(store),
      clock_(clock),
      dir_(std::move(state_dir) + "/peercache"),
      policy_flags_(policy_flags),
      fs_size_(std::move(fs_size)) {}

std::string PeerCache::content_key(std::string_view url, std::uint64_t size,
                                   std::string_view last_modified, std::string_view etag) {
  std::string size_text = std::to_string(size);
  Sha256 hash;
  for (std::string_view part : {std::string_view("openbits-peer-v1\n"), url, std::string_view("\n"),
                                std::string_view(size_text), std::string_view("\n"), last_modified,
                                std::string_view("\n"), etag}) {
    hash.update(part);
  }
  return hash.hex();
}

std::string PeerCache::content_path(const Guid& id) const { return dir_ + "/" + content_name(id); }

// ---- start-up

Status PeerCache::load() {
  if (Status s = open_directory(); !s.ok()) return s;
  auto settings = store_.load_settings();
  if (!settings.ok()) return settings.status();
  read_settings(*settings);
  auto records = store_.load_peer_records();
  if (!records.ok()) return records.status();
  entries_.clear();
  for (PeerCacheRecord& r : *records) {
    Guid id = r.id;
    entries_[id] = Entry{std::move(r)};
  }
  if (Status s = drop_damaged_records(); !s.ok()) return s;
  delete_orphan_files();
  return Status();
}

// The directory is the daemon's own: made 0700, never followed through a link, and a
// directory owned by anyone else is refused (it could hold planted content).
Status PeerCache::open_directory() {
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
    return errno_status("cannot make " + dir_);
  }
  UniqueFd fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return errno_status("cannot open " + dir_);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_status("cannot stat " + dir_);
  if (st.st_uid != ::geteuid()) return Status(hr::E_ACCESSDENIED, dir_ + " is not bitsd's");
  if ((st.st_mode & 07777) != 0700 && ::fchmod(fd.get(), 0700) != 0) {
    return errno_status("cannot restrict " + dir_);
  }
  dir_fd_ = std::move(fd);
  return Status();
}

// A saved value outside its range (a store edited by hand) counts as unset.
void PeerCache::read_settings(const std::map<std::string, std::int64_t>& settings) {
  auto value = [&](const char* name) -> std::optional<std::int64_t> {
    auto it = settings.find(name);
    return it == settings.end() ? std::nullopt : std::optional<std::int64_t>(it->second);
  };
  auto limit = value(kLimitSetting);
  if (limit && *limit >= 1 && *limit <= kMaxLimitPercent) {
    limit_percent_ = static_cast<std::uint32_t>(*limit);
  }
  auto expiration = value(kExpirationSetting);
  if (expiration && *expiration >= kMinExpirationS && *expiration <= kMaxExpirationS) {
    expiration_s_ = *expiration;
  }
  auto flags = value(kFlagsSetting);
  if (flags && *flags >= 0 && *flags <= kConfigurationFlagsMask) {
    saved_flags_ = static_cast<std::uint32_t>(*flags);
  }
}

// A record whose content is missing, not a plain file, or of another size is never
// served: a crash or a power cut between the copy and the commit, or someone's hands.
Status PeerCache::drop_damaged_records() {
  std::vector<Guid> damaged;
  for (const auto& [id, entry] : entries_) {
    struct stat st {};
    bool intact =
        !id.is_null() &&
        ::fstatat(dir_fd_.get(), content_name(id).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) == entry.record.size;
    if (!intact) damaged.push_back(id);
  }
  for (const Guid& id : damaged) {
    if (Status s = erase(id); !s.ok()) return s;
  }
  return Status();
}

// Files no record names: copies whose record was never committed, or was deleted while
// the file stayed (a crash between the two).
void PeerCache::delete_orphan_files() {
  std::set<std::string> named;
  for (const auto& [id, entry] : entries_) named.insert(content_name(id));
  int dup_fd = ::dup(dir_fd_.get());
  DIR* dir = dup_fd < 0 ? nullptr : ::fdopendir(dup_fd);
  if (!dir) {
    if (dup_fd >= 0) ::close(dup_fd);
    return;
  }
  std::vector<std::string> orphans;
  // NOLINTNEXTLINE(concurrency-mt-unsafe): this DIR stream is used by one thread only
  while (const dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name != "." && name != ".." && !named.count(name)) orphans.push_back(name);
  }
  ::closedir(dir);
  for (const std::string& name : orphans) (void)::unlinkat(dir_fd_.get(), name.c_str(), 0);
}

// ---- records

PeerCache::Entry* PeerCache::entry_by_key(const std::string& key) {
  for (auto& [id, entry] : entries_) {
    if (entry.record.key == key) return &entry;
  }
  return nullptr;
}

Status PeerCache::touch(Entry& entry) {
  PeerCacheRecord touched = entry.record;
  touched.last_access_ms = clock_.wall_ms();
  if (Status s = store_.save_peer_record(touched); !s.ok()) return s;
  entry.record = std::move(touched);
  return Status();
}

Result<std::optional<PeerCacheRecord>> PeerCache::find(const std::string& key) {
  Entry* entry = entry_by_key(key);
  if (!entry) return std::optional<PeerCacheRecord>();
  if (Status s = touch(*entry); !s.ok()) return s;
  return std::optional<PeerCacheRecord>(entry->record);
}

std::optional<PeerCacheRecord> PeerCache::record(const Guid& id) const {
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  return it->second.record;
}

std::vector<PeerCacheRecord> PeerCache::records() const {
  std::vector<PeerCacheRecord> all;
  for (const auto& [id, entry] : entries_) all.push_back(entry.record);
  std::stable_sort(all.begin(), all.end(),
                   [](const auto& a, const auto& b) { return a.created_ms < b.created_ms; });
  return all;
}

Status PeerCache::set_validated(const Guid& id, bool validated) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return not_found(to_string(id));
  PeerCacheRecord changed = it->second.record;
  changed.validated = validated;
  if (Status s = store_.save_peer_record(changed); !s.ok()) return s;
  it->second.record = std::move(changed);
  return Status();
}

// The record goes first, then its file: a crash between the two leaves an orphan file,
// which load() deletes, never a record without its content.
Status PeerCache::erase(Guid id) {
  if (Status s = store_.delete_peer_record(id); !s.ok()) return s;
  entries_.erase(id);
  if (dir_fd_.valid()) (void)::unlinkat(dir_fd_.get(), content_name(id).c_str(), 0);
  return Status();
}

Status PeerCache::remove(const Guid& id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return not_found(to_string(id));
  if (it->second.busy > 0) return busy(id);
  return erase(id);
}

Status PeerCache::remove_where(const std::function<bool(const PeerCacheRecord&)>& matches) {
  std::vector<Guid> ids;
  bool some_busy = false;
  for (const auto& [id, entry] : entries_) {
    if (!matches(entry.record)) continue;
    if (entry.busy > 0) {
      some_busy = true;
    } else {
      ids.push_back(id);
    }
  }
  for (const Guid& id : ids) {
    if (Status s = erase(id); !s.ok()) return s;
  }
  return some_busy ? Status(hr::BG_E_BUSYCACHERECORD, "some cache records are being served")
                   : Status();
}

Status PeerCache::remove_url(const std::string& url) {
  return remove_where([&](const PeerCacheRecord& r) { return r.url == url; });
}

Status PeerCache::clear() {
  return remove_where([](const PeerCacheRecord&) { return true; });
}

Result<std::size_t> PeerCache::expire() {
  std::int64_t oldest_kept = clock_.wall_ms() - expiration_s_ * 1000;
  std::size_t before = entries_.size();
  Status s =
      remove_where([&](const PeerCacheRecord& r) { return r.last_access_ms <= oldest_kept; });
  if (!s.ok() && s.code() != hr::BG_E_BUSYCACHERECORD) return s;
  return before - entries_.size();
}

// ---- serving

Result<PeerCache::Lease> PeerCache::begin_serve(const std::string& key) {
  Entry* entry = entry_by_key(key);
  if (!entry || !entry->record.validated || !entry->verified) return not_found("to serve");
  UniqueFd content(::openat(dir_fd_.get(), content_name(entry->record.id).c_str(),
                            O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!content.valid()) return errno_status("cannot open cached " + to_string(entry->record.id));
  if (Status s = touch(*entry); !s.ok()) return s;
  ++entry->busy;
  return Lease{entry->record, std::move(content)};
}

void PeerCache::end_serve(const Guid& id) {
  auto it = entries_.find(id);
  if (it != entries_.end() && it->second.busy > 0) --it->second.busy;
}

Status PeerCache::verify(const Guid& id) {
  auto pending = begin_verify(id);
  if (!pending.ok()) return pending.status();
  Result<std::string> sha = pending->content.valid() ? sha256_of_file(pending->content.get())
                                                     : Result<std::string>(Status(hr::E_FAIL));
  return finish_verify(id, sha);
}

Result<PeerCache::PendingVerify> PeerCache::begin_verify(const Guid& id) {
  if (!entries_.count(id)) return not_found(to_string(id));
  // A content that cannot be opened is damaged: finish_verify drops it.
  return PendingVerify{id, UniqueFd(::openat(dir_fd_.get(), content_name(id).c_str(),
                                             O_RDONLY | O_NOFOLLOW | O_CLOEXEC))};
}

Status PeerCache::finish_verify(const Guid& id, const Result<std::string>& sha256) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return not_found(to_string(id));
  if (sha256.ok() && *sha256 == it->second.record.sha256) {
    it->second.verified = true;
    return Status();
  }
  if (it->second.busy > 0) return busy(id);
  if (Status s = erase(id); !s.ok()) return s;
  return not_found(to_string(id) + " (its content was damaged)");
}

std::vector<Guid> PeerCache::unverified() const {
  std::vector<Guid> ids;
  for (const auto& [id, entry] : entries_) {
    if (!entry.verified) ids.push_back(id);
  }
  return ids;
}

// ---- adding

Result<std::optional<PeerCacheRecord>> PeerCache::add(PeerCacheRecord record, int source) {
  std::uint64_t size = record.size;
  auto start = begin_add(std::move(record));
  if (!start.ok()) return start.status();
  if (!start->pending) return start->existing;
  Result<std::string> sha = copy_with_sha256(source, start->pending->target.get(), size);
  if (sha.ok() && ::fdatasync(start->pending->target.get()) != 0) {
    sha = errno_status("cannot sync the cached copy");
  }
  auto added = finish_add(std::move(*start->pending), sha);
  if (!added.ok()) return added.status();
  return std::optional<PeerCacheRecord>(*added);
}

Result<PeerCache::AddStart> PeerCache::begin_add(PeerCacheRecord record) {
  if (!dir_fd_.valid()) return Status(hr::E_UNEXPECTED, "the peer cache is not loaded");
  record.key = content_key(record.url, record.size, record.last_modified, record.etag);
  if (Entry* existing = entry_by_key(record.key)) {
    auto touched = add_existing(*existing, record.validated);
    if (!touched.ok()) return touched.status();
    return AddStart{*touched, std::nullopt};
  }
  // Other validators: the origin's content changed, the old copy is stale.
  std::string key = record.key;
  Status stale =
      remove_where([&](const PeerCacheRecord& r) { return r.url == record.url && r.key != key; });
  if (!stale.ok() && stale.code() != hr::BG_E_BUSYCACHERECORD) return stale;
  std::uint64_t limit = limit_bytes();
  if (record.size > limit) return AddStart{};
  if (Status s = make_room(record.size, limit); !s.ok()) {
    if (s.code() == hr::S_FALSE) return AddStart{};
    return s;
  }
  record.id = random_guid();
  std::string name = content_name(record.id);
  UniqueFd target(::openat(dir_fd_.get(), name.c_str(),
                           O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!target.valid()) return errno_status("cannot create " + content_path(record.id));
  reserved_bytes_ += record.size;
  return AddStart{std::nullopt, PendingAdd{std::move(record), std::move(target)}};
}

Result<PeerCacheRecord> PeerCache::finish_add(PendingAdd pending, const Result<std::string>& sha) {
  PeerCacheRecord& record = pending.record;
  reserved_bytes_ -= std::min(reserved_bytes_, record.size);
  std::string name = content_name(record.id);
  Status result = sha.ok() ? Status() : sha.status();
  if (result.ok() && !record.origin_digest.empty() && record.origin_digest != *sha) {
    result = Status(hr::E_INVALIDARG, "the file does not match the origin's digest");
  }
  // The bytes are on the disk before the record that claims them (docs/durability.md):
  // the caller fdatasync'd the copy.
  if (result.ok()) {
    record.sha256 = *sha;
    record.created_ms = record.last_access_ms = clock_.wall_ms();
    result = store_.save_peer_record(record);
  }
  if (!result.ok()) {
    (void)::unlinkat(dir_fd_.get(), name.c_str(), 0);
    return result;
  }
  entries_[record.id] = Entry{record, 0, true};
  return record;
}

Result<std::optional<PeerCacheRecord>> PeerCache::add_existing(Entry& entry, bool validated) {
  if (validated && !entry.record.validated) entry.record.validated = true;
  if (Status s = touch(entry); !s.ok()) return s;
  return std::optional<PeerCacheRecord>(entry.record);
}

// Evicts the least recently accessed records not being served until `size` more bytes
// fit under `limit`; S_FALSE when they cannot.
Status PeerCache::make_room(std::uint64_t size, std::uint64_t limit) {
  while (used_bytes() + size > limit) {
    const Entry* oldest = nullptr;
    for (const auto& [id, entry] : entries_) {
      if (entry.busy == 0 &&
          (!oldest || entry.record.last_access_ms < oldest->record.last_access_ms)) {
        oldest = &entry;
      }
    }
    if (!oldest) return Status(hr::S_FALSE);
    if (Status s = erase(oldest->record.id); !s.ok()) return s;
  }
  return Status();
}

// ---- limits and settings

std::uint64_t PeerCache::limit_bytes() const {
  auto size = fs_size_(dir_);
  return size.ok() ? *size / 100 * limit_percent_ : 0;
}

std::uint64_t PeerCache::used_bytes() const {
  std::uint64_t used = 0;
  for (const auto& [id, entry] : entries_) used += entry.record.size;
  return used + reserved_bytes_;
}

Status PeerCache::set_limit_percent(std::uint32_t percent) {
  if (percent < 1 || percent > kMaxLimitPercent) {
    return Status(hr::E_INVALIDARG, "the cache limit is a percentage from 1 to 80");
  }
  if (Status s = store_.save_setting(kLimitSetting, percent); !s.ok()) return s;
  limit_percent_ = percent;
  Status room = make_room(0, limit_bytes());
  return room.code() == hr::S_FALSE ? Status() : room;  // what is served stays, for now
}

Status PeerCache::set_expiration_s(std::int64_t seconds) {
  if (seconds < kMinExpirationS || seconds > kMaxExpirationS) {
    return Status(hr::E_INVALIDARG, "the content age is from 86400 to 10368000 seconds");
  }
  if (Status s = store_.save_setting(kExpirationSetting, seconds); !s.ok()) return s;
  expiration_s_ = seconds;
  return Status();
}

std::uint32_t PeerCache::configuration_flags() const {
  return policy_flags_.value_or(saved_flags_);
}

Status PeerCache::set_configuration_flags(std::uint32_t flags) {
  if (flags > kConfigurationFlagsMask) {
    return Status(hr::E_INVALIDARG, "the peer-caching flags are 0x1 client and 0x2 server");
  }
  if (Status s = store_.save_setting(kFlagsSetting, flags); !s.ok()) return s;
  saved_flags_ = flags;
  if (policy_flags_ && *policy_flags_ != flags) {
    return Status(hr::BG_S_OVERRIDDEN_BY_POLICY, "saved; the peer_caching_flags policy wins");
  }
  return Status();
}

}  // namespace openbits::daemon

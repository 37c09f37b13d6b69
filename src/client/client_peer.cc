// libopenbits: peer caching: PeerCacheAdmin (the machine's cache and peers) and the
// per-file validation state and statistics; see openbits/client.h and docs/rpc-spec.md.
#include "openbits/client.h"
#include "src/client/connection.h"
#include "src/client/reply.h"
#include "src/protocol/codec.h"
#include "src/protocol/rpc.h"

namespace openbits {
namespace {

using client_detail::decode;
using client_detail::field;
using nlohmann::json;
namespace m = rpc::method;

// file.get: one file of a job, without the rest of the job.
Result<FileInfo> file_info(Connection& connection, const Guid& job_id, std::uint32_t index) {
  return decode<FileInfo>(
      connection.call(m::kGetFile, {{"job_id", job_id}, {"file_index", index}}));
}

}  // namespace

std::string to_json(const std::vector<CacheRecord>& records, int indent) {
  return json{{"records", records}}.dump(indent);
}
std::string to_json(const std::vector<KnownPeer>& peers, int indent) {
  return json{{"peers", peers}}.dump(indent);
}
std::string to_json(const CacheRecord& record, int indent) { return json(record).dump(indent); }

// --- File ----------------------------------------------------------------------------

Result<bool> File::validation_state() const {
  auto file = file_info(*connection_, job_id_, index_);
  if (!file.ok()) return file.status();
  if (!file->progress.completed) return Status(hr::E_PENDING);
  return file->validation_state;
}

Result<bool> File::is_downloaded_from_peer() const {
  auto file = file_info(*connection_, job_id_, index_);
  if (!file.ok()) return file.status();
  return file->downloaded_from_peer;
}

Result<PeerDownloadStats> File::peer_download_stats() const {
  auto file = file_info(*connection_, job_id_, index_);
  if (!file.ok()) return file.status();
  return PeerDownloadStats{file->bytes_from_origin, file->bytes_from_peers};
}

// --- PeerCacheAdmin ------------------------------------------------------------------

PeerCacheAdmin Manager::peer_cache() { return PeerCacheAdmin(connection_); }

PeerCacheAdmin::PeerCacheAdmin(std::shared_ptr<Connection> connection)
    : connection_(std::move(connection)) {}

Result<std::uint32_t> PeerCacheAdmin::configuration_flags() {
  return field<std::uint32_t>(connection_->call(m::kGetPeerCachingFlags, json::object()), "flags");
}

Status PeerCacheAdmin::set_configuration_flags(std::uint32_t flags) {
  return status_from_result(connection_->call(m::kSetPeerCachingFlags, {{"flags", flags}}));
}

Result<std::vector<CacheRecord>> PeerCacheAdmin::records() {
  return field<std::vector<CacheRecord>>(connection_->call(m::kListCacheRecords, json::object()),
                                         "records");
}

Result<CacheRecord> PeerCacheAdmin::record(const Guid& id) {
  return decode<CacheRecord>(connection_->call(m::kGetCacheRecord, {{"record_id", id}}));
}

Status PeerCacheAdmin::delete_record(const Guid& id) {
  return status_from_result(connection_->call(m::kDeleteCacheRecord, {{"record_id", id}}));
}

Status PeerCacheAdmin::delete_url(std::string_view url) {
  return status_from_result(connection_->call(m::kDeleteCacheUrl, {{"url", std::string(url)}}));
}

Status PeerCacheAdmin::clear() {
  return status_from_result(connection_->call(m::kClearCache, json::object()));
}

Result<CacheLimits> PeerCacheAdmin::limits() {
  auto size = connection_->call(m::kGetCacheLimit, json::object());
  auto age =
      field<std::int64_t>(connection_->call(m::kGetCacheExpiration, json::object()), "seconds");
  if (!size.ok()) return size.status();
  if (!age.ok()) return age.status();
  auto percent = field<std::uint32_t>(size, "percent");
  auto limit = field<std::uint64_t>(size, "limit_bytes");
  auto used = field<std::uint64_t>(size, "used_bytes");
  if (!percent.ok() || !limit.ok() || !used.ok()) {
    return Status(hr::E_FAIL, "bitsd sent an unexpected reply to peercache.get_limit");
  }
  return CacheLimits{*percent, *limit, *used, *age};
}

Status PeerCacheAdmin::set_maximum_cache_size(std::uint32_t percent) {
  return status_from_result(connection_->call(m::kSetCacheLimit, {{"percent", percent}}));
}

Status PeerCacheAdmin::set_maximum_content_age(std::int64_t seconds) {
  return status_from_result(connection_->call(m::kSetCacheExpiration, {{"seconds", seconds}}));
}

Result<std::vector<KnownPeer>> PeerCacheAdmin::peers() {
  return field<std::vector<KnownPeer>>(connection_->call(m::kListPeers, json::object()), "peers");
}

Status PeerCacheAdmin::discover_peers() {
  return status_from_result(connection_->call(m::kDiscoverPeers, json::object()));
}

Status PeerCacheAdmin::clear_peers() {
  return status_from_result(connection_->call(m::kClearPeers, json::object()));
}

}  // namespace openbits

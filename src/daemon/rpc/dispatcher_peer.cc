// The Dispatcher's peer-caching methods: peercache.* (the machine's cache, over
// JobManager), peers.* (over the PeerDirectory, if any) and file.get; see dispatcher.h and
// docs/rpc-spec.md.
#include "src/daemon/rpc/dispatcher.h"
#include "src/daemon/rpc/dispatcher_results.h"
#include "src/protocol/codec.h"
#include "src/protocol/rpc.h"

namespace openbits::daemon {
namespace {

using nlohmann::json;

using dispatcher_detail::from_status;

CacheRecord public_record(const PeerCacheRecord& r) {
  CacheRecord v;
  v.id = r.id;
  v.url = r.url;
  v.size = r.size;
  v.last_modified = r.last_modified;
  v.etag = r.etag;
  v.file_modification_time = r.file_mtime_ms;
  v.creation_time = r.created_ms;
  v.last_access_time = r.last_access_ms;
  v.validated = r.validated;
  v.ranges = {FileRange{0, r.size}};
  v.sha256 = r.sha256;
  return v;
}

KnownPeer public_peer(const PeerInfo& p) {
  return KnownPeer{p.name,      p.address,     p.authenticated,
                   p.available, p.from_config, p.last_seen_unix * 1000};
}

Guid record_id(const json& params) { return params.at("record_id").get<Guid>(); }

}  // namespace

void Dispatcher::add_peer_cache_methods() {
  namespace m = rpc::method;
  methods_[m::kGetFile] = [this](const Caller& c, const json& p) -> Result<json> {
    auto info = jobs_.job_info(c, p.at("job_id").get<Guid>());
    if (!info.ok()) return info.status();
    auto index = get_integer<std::uint32_t>(p.at("file_index"));
    if (index >= info->files.size()) return Status(hr::BG_E_FILE_NOT_FOUND);
    return json(info->files[index]);
  };
  methods_[m::kGetPeerCachingFlags] = [this](const Caller& c, const json&) -> Result<json> {
    auto flags = jobs_.peer_caching_flags(c);
    if (!flags.ok()) return flags.status();
    return json{{"flags", *flags}};
  };
  methods_[m::kSetPeerCachingFlags] = [this](const Caller& c, const json& p) {
    return from_status(jobs_.set_peer_caching_flags(c, get_integer<std::uint32_t>(p.at("flags"))));
  };
  methods_[m::kListCacheRecords] = [this](const Caller& c, const json&) -> Result<json> {
    auto records = jobs_.cache_records(c);
    if (!records.ok()) return records.status();
    json list = json::array();
    for (const PeerCacheRecord& r : *records) list.push_back(public_record(r));
    return json{{"records", std::move(list)}};
  };
  methods_[m::kGetCacheRecord] = [this](const Caller& c, const json& p) -> Result<json> {
    auto record = jobs_.cache_record(c, record_id(p));
    if (!record.ok()) return record.status();
    return json(public_record(*record));
  };
  methods_[m::kDeleteCacheRecord] = [this](const Caller& c, const json& p) {
    return from_status(jobs_.delete_cache_record(c, record_id(p)));
  };
  methods_[m::kDeleteCacheUrl] = [this](const Caller& c, const json& p) {
    return from_status(jobs_.delete_cache_url(c, p.at("url").get<std::string>()));
  };
  methods_[m::kClearCache] = [this](const Caller& c, const json&) {
    return from_status(jobs_.clear_cache(c));
  };
  methods_[m::kGetCacheLimit] = [this](const Caller& c, const json&) -> Result<json> {
    auto limits = jobs_.cache_limits(c);
    if (!limits.ok()) return limits.status();
    return json{{"percent", limits->percent},
                {"limit_bytes", limits->limit_bytes},
                {"used_bytes", limits->used_bytes}};
  };
  methods_[m::kSetCacheLimit] = [this](const Caller& c, const json& p) {
    return from_status(jobs_.set_cache_limit(c, get_integer<std::uint32_t>(p.at("percent"))));
  };
  methods_[m::kGetCacheExpiration] = [this](const Caller& c, const json&) -> Result<json> {
    auto limits = jobs_.cache_limits(c);
    if (!limits.ok()) return limits.status();
    return json{{"seconds", limits->expiration_s}};
  };
  methods_[m::kSetCacheExpiration] = [this](const Caller& c, const json& p) {
    return from_status(jobs_.set_cache_expiration(c, get_integer<std::int64_t>(p.at("seconds"))));
  };
  methods_[m::kListPeers] = [this](const Caller&, const json&) -> Result<json> {
    json list = json::array();
    if (peers_) {
      for (const PeerInfo& peer : peers_->peers()) list.push_back(public_peer(peer));
    }
    return json{{"peers", std::move(list)}};
  };
  methods_[m::kDiscoverPeers] = [this](const Caller& c, const json&) -> Result<json> {
    if (!c.admin) return Status(hr::E_ACCESSDENIED, "only administrators may discover peers");
    return from_status(peers_ ? peers_->discover() : Status());
  };
  methods_[m::kClearPeers] = [this](const Caller& c, const json&) -> Result<json> {
    if (!c.admin) return Status(hr::E_ACCESSDENIED, "only administrators may clear the peers");
    return from_status(peers_ ? peers_->clear() : Status());
  };
}

}  // namespace openbits::daemon

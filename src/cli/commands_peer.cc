// bitsadmin's peer-caching families (bitsadmin.md §10.1-10.3; docs/peer-caching.md):
// /CACHE (the machine's cache records and limits), /PEERS (the peers bitsd knows) and
// /PEERCACHING (the machine's flags), over libopenbits' PeerCacheAdmin. Machine-wide
// changes and the cache's contents are for administrators: bitsd answers E_ACCESSDENIED.
#include <ostream>

#include "src/cli/arguments.h"
#include "src/cli/commands.h"
#include "src/cli/format.h"

namespace openbits::cli {
namespace {

// The sub-command's options: /VERBOSE and --json are taken out of ctx.inv.args.
struct Options {
  bool verbose = false;
  bool json = false;
};

Options take_options(Context& ctx) {
  Options o;
  std::vector<std::string> rest;
  for (const std::string& arg : ctx.inv.args) {
    if (is_switch(arg, "verbose")) {
      o.verbose = true;
    } else if (is_switch(arg, "json")) {
      o.json = true;
    } else {
      rest.push_back(arg);
    }
  }
  ctx.inv.args = std::move(rest);
  return o;
}

// A peer-cache call's PeerCacheAdmin, or the failure printed under `action`.
std::optional<PeerCacheAdmin> admin(Context& ctx, const std::string& action) {
  auto m = ctx.manager();
  if (!m.ok()) {
    ctx.fail(action, m.status());
    return std::nullopt;
  }
  return (*m)->peer_cache();
}

std::string bool_text(bool value) { return value ? "TRUE" : "FALSE"; }

void print_record(std::ostream& out, const CacheRecord& r, bool verbose) {
  if (!verbose) {
    out << to_string(r.id) << ' ' << r.size << ' ' << bool_text(r.validated) << ' ' << r.url
        << '\n';
    return;
  }
  out << "RECORD ID: " << to_string(r.id) << '\n'
      << "URL: " << r.url << '\n'
      << "SIZE: " << r.size << " VALIDATED: " << bool_text(r.validated) << '\n'
      << "LAST-MODIFIED: " << (r.last_modified.empty() ? "NULL" : r.last_modified)
      << " ETAG: " << (r.etag.empty() ? "NULL" : r.etag) << '\n'
      << "FILE MODIFICATION TIME: "
      << (r.file_modification_time ? time_text(r.file_modification_time) : "UNKNOWN") << '\n'
      << "CREATION TIME: " << time_text(r.creation_time)
      << " LAST ACCESS TIME: " << time_text(r.last_access_time) << '\n'
      << "RANGES: ";
  for (std::size_t i = 0; i < r.ranges.size(); ++i) {
    out << (i ? "," : "") << r.ranges[i].initial_offset << ':' << r.ranges[i].length;
  }
  out << "\nSHA-256: " << r.sha256 << "\n\n";
}

// A call that answers only a status: `done` on success (nothing with /RAWRETURN but the
// S_ code's text when it is not S_OK).
int report(Context& ctx, const std::string& action, const Status& s, const std::string& done) {
  if (!s.ok()) return ctx.fail(action, s);
  if (s.code() == hr::BG_S_OVERRIDDEN_BY_POLICY) {
    ctx.out << done << " It is saved, but the peer_caching_flags of bitsd's config win: "
            << hresult_hex(s.code()) << ".\n";
    return 0;
  }
  if (!ctx.inv.raw) ctx.out << done << '\n';
  return 0;
}

std::optional<Guid> record_id(Context& ctx, const std::string& synopsis, const std::string& action,
                              int& exit_code) {
  if (ctx.inv.args.size() != 1) {
    exit_code = ctx.usage(synopsis);
    return std::nullopt;
  }
  auto id = parse_guid(ctx.inv.args[0]);
  if (!id) {
    exit_code = ctx.fail(action, Status(hr::E_INVALIDARG, "A record ID is a {GUID}."));
    return std::nullopt;
  }
  return id;
}

int cache_list(Context& ctx) {
  Options o = take_options(ctx);
  if (!ctx.inv.args.empty()) return ctx.usage("/CACHE /LIST [/VERBOSE] [--json]");
  auto a = admin(ctx, "list the cache records");
  if (!a) return 1;
  auto records = a->records();
  if (!records.ok()) return ctx.fail("list the cache records", records.status());
  if (o.json) {
    ctx.out << to_json(*records) << '\n';
    return 0;
  }
  for (const CacheRecord& r : *records) print_record(ctx.out, r, o.verbose);
  if (!ctx.inv.raw) ctx.out << "Listed " << records->size() << " record(s).\n";
  return 0;
}

int cache_info(Context& ctx) {
  Options o = take_options(ctx);
  int code = 1;
  auto id =
      record_id(ctx, "/CACHE /INFO recordID [/VERBOSE] [--json]", "get the cache record", code);
  if (!id) return code;
  auto a = admin(ctx, "get the cache record");
  if (!a) return 1;
  auto record = a->record(*id);
  if (!record.ok()) return ctx.fail("get the cache record", record.status());
  if (o.json) {
    ctx.out << to_json(*record) << '\n';
  } else {
    print_record(ctx.out, *record, o.verbose);
  }
  return 0;
}

int cache_delete(Context& ctx) {
  int code = 1;
  auto id = record_id(ctx, "/CACHE /DELETE recordID", "delete the cache record", code);
  if (!id) return code;
  auto a = admin(ctx, "delete the cache record");
  if (!a) return 1;
  return report(ctx, "delete the cache record", a->delete_record(*id), "Record deleted.");
}

int cache_delete_url(Context& ctx) {
  if (ctx.inv.args.size() != 1) return ctx.usage("/CACHE /DELETEURL url");
  auto a = admin(ctx, "delete the cache records");
  if (!a) return 1;
  return report(ctx, "delete the cache records", a->delete_url(ctx.inv.args[0]),
                "Records of the URL deleted.");
}

int cache_clear(Context& ctx) {
  if (!ctx.inv.args.empty()) return ctx.usage("/CACHE /CLEAR");
  auto a = admin(ctx, "clear the cache");
  if (!a) return 1;
  return report(ctx, "clear the cache", a->clear(), "Cache cleared.");
}

int cache_get_limit(Context& ctx) {
  if (!ctx.inv.args.empty()) return ctx.usage("/CACHE /GETLIMIT");
  auto a = admin(ctx, "get the cache limit");
  if (!a) return 1;
  auto limits = a->limits();
  if (!limits.ok()) return ctx.fail("get the cache limit", limits.status());
  if (ctx.inv.raw) return ctx.value(std::to_string(limits->percent));
  ctx.out << "Cache limit: " << limits->percent << "% of the disk (" << limits->limit_bytes
          << " bytes; " << limits->used_bytes << " bytes used)\n";
  return 0;
}

int cache_set_limit(Context& ctx) {
  if (ctx.inv.args.size() != 1) return ctx.usage("/CACHE /SETLIMIT percent");
  auto percent = parse_u32(ctx.inv.args[0]);
  if (!percent.ok()) return ctx.fail("set the cache limit", percent.status());
  auto a = admin(ctx, "set the cache limit");
  if (!a) return 1;
  return report(ctx, "set the cache limit", a->set_maximum_cache_size(*percent),
                "Cache limit set.");
}

int cache_get_expiration(Context& ctx) {
  if (!ctx.inv.args.empty()) return ctx.usage("/CACHE /GETEXPIRATIONTIME");
  auto a = admin(ctx, "get the cache expiration time");
  if (!a) return 1;
  auto limits = a->limits();
  if (!limits.ok()) return ctx.fail("get the cache expiration time", limits.status());
  if (ctx.inv.raw) return ctx.value(std::to_string(limits->expiration_s));
  ctx.out << "Cache expiration time: " << limits->expiration_s << " seconds\n";
  return 0;
}

int cache_set_expiration(Context& ctx) {
  if (ctx.inv.args.size() != 1) return ctx.usage("/CACHE /SETEXPIRATIONTIME seconds");
  auto seconds = parse_number(ctx.inv.args[0]);
  if (!seconds || *seconds > 0x7FFFFFFFFFFFFFFFull) {
    return ctx.fail("set the cache expiration time", Status(hr::E_INVALIDARG));
  }
  auto a = admin(ctx, "set the cache expiration time");
  if (!a) return 1;
  return report(ctx, "set the cache expiration time",
                a->set_maximum_content_age(static_cast<std::int64_t>(*seconds)),
                "Cache expiration time set.");
}

int peers_list(Context& ctx) {
  Options o = take_options(ctx);
  if (!ctx.inv.args.empty()) return ctx.usage("/PEERS /LIST [--json]");
  auto a = admin(ctx, "list peers");
  if (!a) return 1;
  auto peers = a->peers();
  if (!peers.ok()) return ctx.fail("list peers", peers.status());
  if (o.json) {
    ctx.out << to_json(*peers) << '\n';
    return 0;
  }
  for (const KnownPeer& p : *peers) {
    ctx.out << p.name << ' ' << p.address << " AUTHENTICATED: " << bool_text(p.authenticated)
            << " AVAILABLE: " << bool_text(p.available) << '\n';
  }
  if (!ctx.inv.raw) ctx.out << "Listed " << peers->size() << " peer(s).\n";
  return 0;
}

int peers_discover(Context& ctx) {
  if (!ctx.inv.args.empty()) return ctx.usage("/PEERS /DISCOVER");
  auto a = admin(ctx, "discover peers");
  if (!a) return 1;
  return report(ctx, "discover peers", a->discover_peers(), "Peer discovery started.");
}

int peers_clear(Context& ctx) {
  if (!ctx.inv.args.empty()) return ctx.usage("/PEERS /CLEAR");
  auto a = admin(ctx, "clear the peer list");
  if (!a) return 1;
  return report(ctx, "clear the peer list", a->clear_peers(), "Peer list cleared.");
}

// bitsadmin.md §10.3: the documented [job] argument is accepted and ignored (the flags are
// the machine's).
int get_configuration_flags(Context& ctx) {
  if (ctx.inv.args.size() > 1) return ctx.usage("/PEERCACHING /GETCONFIGURATIONFLAGS [job]");
  auto a = admin(ctx, "get the peer caching configuration flags");
  if (!a) return 1;
  auto flags = a->configuration_flags();
  if (!flags.ok()) return ctx.fail("get the peer caching configuration flags", flags.status());
  if (ctx.inv.raw) return ctx.value(std::to_string(*flags));
  ctx.out << "Peer caching configuration flags: " << *flags
          << " (download from peers: " << bool_text((*flags & 0x1) != 0)
          << ", serve peers: " << bool_text((*flags & 0x2) != 0) << ")\n";
  return 0;
}

int set_configuration_flags(Context& ctx) {
  const auto& args = ctx.inv.args;
  if (args.empty() || args.size() > 2) {
    return ctx.usage("/PEERCACHING /SETCONFIGURATIONFLAGS [job] value");
  }
  auto flags = parse_u32(args.back());
  if (!flags.ok()) return ctx.fail("set the peer caching configuration flags", flags.status());
  auto a = admin(ctx, "set the peer caching configuration flags");
  if (!a) return 1;
  return report(ctx, "set the peer caching configuration flags", a->set_configuration_flags(*flags),
                "Peer caching configuration flags set.");
}

}  // namespace

std::map<std::string, Handler> cache_commands() {
  return {{"list", cache_list},
          {"info", cache_info},
          {"delete", cache_delete},
          {"deleteurl", cache_delete_url},
          {"clear", cache_clear},
          {"getlimit", cache_get_limit},
          {"setlimit", cache_set_limit},
          {"getexpirationtime", cache_get_expiration},
          {"setexpirationtime", cache_set_expiration}};
}

std::map<std::string, Handler> peers_commands() {
  return {{"list", peers_list}, {"discover", peers_discover}, {"clear", peers_clear}};
}

std::map<std::string, Handler> peercaching_commands() {
  return {{"getconfigurationflags", get_configuration_flags},
          {"setconfigurationflags", set_configuration_flags}};
}

}  // namespace openbits::cli

// PeerCacheRecord: one content the peer cache holds (IBitsPeerCacheRecord), as the store
// keeps it in its peer_cache table (docs/schema.md, version 6). Plain data.
#pragma once

#include <cstdint>
#include <string>

#include "openbits/types.h"

namespace openbits::daemon {

struct PeerCacheRecord {
  Guid id{};                  // also the name of its content file, <state-dir>/peercache/<id>
  std::string key;            // PeerCache::content_key of the four fields below, hex
  std::string url;            // the final URL, after redirects
  std::uint64_t size = 0;     // bytes; the origin's Content-Length
  std::string last_modified;  // the origin's validators as it sent them ("" when none)
  std::string etag;
  std::int64_t file_mtime_ms = 0;   // GetFileModificationTime: the remote file's time, Unix ms
  std::string sha256;               // of the cache's own copy, computed while copying, hex
  std::string origin_digest;        // SHA-256 the origin published (Repr-Digest), hex; or ""
  std::int64_t created_ms = 0;      // Unix ms
  std::int64_t last_access_ms = 0;  // Unix ms; added, found or served; the age counts from it
  bool validated = false;           // IsFileValidated: only validated records are served
};

}  // namespace openbits::daemon

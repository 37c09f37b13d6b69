// Sha256: an incremental SHA-256 (OpenSSL EVP). The transfer engine hashes a download's
// body as it writes it (DownloadRequest::hash_body); the peer cache names and checks its
// content files with it (core/peer_cache_content.h). Not thread-safe: one user at a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace openbits::daemon {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view bytes);
  // The digest in lower-case hex; the object is spent afterwards.
  std::string hex();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

}  // namespace openbits::daemon

// The peer cache's content files (peer_cache.h): the SHA-256 that names and checks them,
// and the copy of a user's file into the cache's directory. Pure file operations on
// descriptors the caller opened; thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "openbits/status.h"

namespace openbits::daemon {

// An incremental SHA-256 (OpenSSL EVP); hex() ends it.
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

// Copies the first `size` bytes of `source` into the empty file `target`: a reflink
// (FICLONE) where the file system allows, else copy_file_range, else read and write.
// Returns the SHA-256 (hex) of what `target` then holds, read back from it; an error when
// `source` holds fewer or more than `size` bytes. The caller fdatasyncs `target`.
Result<std::string> copy_with_sha256(int source, int target, std::uint64_t size);

// The SHA-256 (hex) of the whole of `fd`, read from offset 0.
Result<std::string> sha256_of_file(int fd);

}  // namespace openbits::daemon

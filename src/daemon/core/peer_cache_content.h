// The peer cache's content files (peer_cache.h): the SHA-256 that names and checks them,
// and the copy of a user's file into the cache's directory. Pure file operations on
// descriptors the caller opened; thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "openbits/status.h"
#include "src/daemon/transfer/sha256.h"

namespace openbits::daemon {

// Copies the first `size` bytes of `source` into the empty file `target`: a reflink
// (FICLONE) where the file system allows, else copy_file_range, else read and write.
// Returns the SHA-256 (hex) of what `target` then holds, read back from it; an error when
// `source` holds fewer or more than `size` bytes. The caller fdatasyncs `target`.
Result<std::string> copy_with_sha256(int source, int target, std::uint64_t size);

// The SHA-256 (hex) of the whole of `fd`, read from offset 0.
Result<std::string> sha256_of_file(int fd);

}  // namespace openbits::daemon

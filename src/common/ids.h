// Random bytes and the identifiers made of them: job GUIDs, upload session ids, temporary
// file names. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "openbits/types.h"
#include "src/common/hex.h"

namespace openbits {

// Fills `bytes` from the kernel's random source (getrandom(2)): ids must not be guessable by
// another user, so no seeded generator is used.
void random_bytes(std::span<std::uint8_t> bytes);

// `count` random bytes as 2 * `count` hex digits.
std::string random_hex_id(std::size_t count, HexCase letters = HexCase::kUpper);

// A random GUID with the RFC 4122 version-4 and variant bits set.
Guid random_guid();

}  // namespace openbits

// Random bytes and ids; see ids.h.
#include "src/common/ids.h"

#include <sys/random.h>

#include <cerrno>
#include <random>
#include <vector>

namespace openbits {
namespace {

// For a kernel without getrandom(2) (before 3.17): std::random_device reads /dev/urandom
// or the CPU's generator.
void fallback_random_bytes(std::span<std::uint8_t> bytes) {
  std::random_device device;
  for (auto& b : bytes) b = static_cast<std::uint8_t>(device());
}

}  // namespace

void random_bytes(std::span<std::uint8_t> bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::getrandom(bytes.data() + done, bytes.size() - done, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fallback_random_bytes(bytes.subspan(done));
    done += static_cast<std::size_t>(n);
  }
}

std::string random_hex_id(std::size_t count, HexCase letters) {
  std::vector<std::uint8_t> bytes(count);
  random_bytes(bytes);
  return hex_encode(bytes, letters);
}

Guid random_guid() {
  Guid guid;
  random_bytes(guid.bytes);
  guid.bytes[6] = static_cast<std::uint8_t>((guid.bytes[6] & 0x0F) | 0x40);  // version 4
  guid.bytes[8] = static_cast<std::uint8_t>((guid.bytes[8] & 0x3F) | 0x80);  // variant
  return guid;
}

}  // namespace openbits

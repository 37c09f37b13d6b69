// The reserve behind std::new_handler; see memory_reserve.h.
#include "src/daemon/platform/memory_reserve.h"

#include <sys/mman.h>

#include <atomic>
#include <new>

namespace openbits::daemon::memory_reserve {
namespace {

// mmap, not malloc: munmap gives the address space back at once (RLIMIT_AS counts it), and
// glibc's heap thresholds are not moved by a block it never saw.
std::atomic<void*> reserve{nullptr};

void* map_reserve() {
  void* p =
      ::mmap(nullptr, kReserveBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

// operator new failed: release the reserve (if any) and fail this allocation. Not retried
// with the freed space: that would spend the reserve on the request that is failing, and
// leave nothing for its unwinding.
void on_allocation_failure() {
  if (void* p = reserve.exchange(nullptr)) ::munmap(p, kReserveBytes);
  throw std::bad_alloc();
}

}  // namespace

void install() {
  (void)rearm();
  std::set_new_handler(on_allocation_failure);
}

bool rearm() {
  if (reserve.load() != nullptr) return true;
  void* p = map_reserve();
  if (!p) return false;
  void* expected = nullptr;
  if (!reserve.compare_exchange_strong(expected, p)) ::munmap(p, kReserveBytes);
  return true;
}

bool armed() { return reserve.load() != nullptr; }

}  // namespace openbits::daemon::memory_reserve

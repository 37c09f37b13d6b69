// MemoryReserve: address space held back for the moment an allocation fails, so that a
// std::bad_alloc can unwind. Unwinding is not free here: nlohmann::json's destructor
// (noexcept) allocates a stack to flatten the tree it frees, so a bad_alloc thrown while a
// reply is built used to end in std::terminate when the partly built tree was destroyed.
// install() sets a std::new_handler that, when operator new fails, gives the reserve back
// to the system and throws std::bad_alloc: the failed request unwinds, and its
// destructors and the E_OUTOFMEMORY answer find memory. rearm() takes a new reserve once
// the failure is over (the dispatcher calls it after answering).
//
// Threading: install() once, before other threads start; the handler and rearm() may run
// on any thread.
#pragma once

#include <cstddef>

namespace openbits::daemon::memory_reserve {

// 4 MiB of address space (mapped, never touched: no resident memory).
inline constexpr std::size_t kReserveBytes = std::size_t{4} << 20;

// Takes the reserve and installs the handler.
void install();
// Takes a new reserve if the last one was spent; false when there is none (still short).
bool rearm();
// Whether a reserve is held (tests).
bool armed();

}  // namespace openbits::daemon::memory_reserve

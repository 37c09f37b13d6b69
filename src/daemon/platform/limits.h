// Default length limits of bits-spec §3.1 not in openbits/types.h; each is a config key
// (config.h), and validation.h applies them.
#pragma once

#include <cstddef>

namespace openbits::daemon {

inline constexpr std::size_t kMaxNotifyParameters = 4000;
inline constexpr std::size_t kMaxCustomHeaders = 16384;  // including a terminator

}  // namespace openbits::daemon

// Boost.Asio for openbits: Boost 1.74's awaitable.hpp uses std::exchange without including
// <utility> under C++20, so it must come first. Include this instead of <boost/asio.hpp>.
#pragma once

// clang-format off
#include <utility>
#include <boost/asio.hpp>
// clang-format on

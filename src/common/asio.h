// Boost.Asio for openbits: Boost 1.74's awaitable.hpp uses std::exchange without including
// <utility> under C++20, so it must come first. Include this instead of <boost/asio.hpp>.
#pragma once

// Boost 1.74 enables co_await for clang only with the Coroutines TS; clang 14+ in C++20 mode
// has standard coroutines (<coroutine>), which Asio then uses (BOOST_ASIO_HAS_STD_COROUTINE).
#if defined(__clang__) && !defined(BOOST_ASIO_HAS_CO_AWAIT) && defined(__cpp_impl_coroutine)
#if __cpp_impl_coroutine >= 201902 && __has_include(<coroutine>)
#define BOOST_ASIO_HAS_CO_AWAIT 1
#endif
#endif

// clang-format off
#include <utility>
#include <boost/asio.hpp>
// clang-format on

// The result objects the Dispatcher's methods share (dispatcher.cc, dispatcher_peer.cc):
// {"hresult": code} for a call that answers only a status.
#pragma once

#include <nlohmann/json.hpp>

#include "openbits/status.h"

namespace openbits::daemon::dispatcher_detail {

inline nlohmann::json status_result(const Status& status) { return {{"hresult", status.code()}}; }

inline Result<nlohmann::json> from_status(const Status& status) {
  if (!status.ok()) return status;
  return status_result(status);
}

}  // namespace openbits::daemon::dispatcher_detail

// Decoding bitsd's replies in libopenbits (client.cc, client_peer.cc): a call's result as
// a model type, or one member of it; a reply of the wrong shape is E_FAIL saying so.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "openbits/status.h"

namespace openbits::client_detail {

template <typename T>
Result<T> decode(const Result<nlohmann::json>& result) {
  if (!result.ok()) return result.status();
  try {
    return result->get<T>();
  } catch (const nlohmann::json::exception& e) {
    return Status(hr::E_FAIL, std::string("bitsd sent an unexpected reply: ") + e.what());
  }
}

// Member `key` of a call's result object, decoded as T.
template <typename T>
Result<T> field(const Result<nlohmann::json>& result, const char* key) {
  if (!result.ok()) return result.status();
  auto it = result->find(key);
  if (it == result->end()) return Status(hr::E_FAIL, std::string("bitsd's reply lacks ") + key);
  return decode<T>(*it);
}

}  // namespace openbits::client_detail

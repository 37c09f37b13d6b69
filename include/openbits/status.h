// openbits/status.h: the one error type (Status) and Result<T>.
//
// A Status is an HRESULT plus, for job errors, nothing else: job error objects carry
// their own context (see ErrorInfo in types.h). A Status whose code is a success code
// (S_OK, S_FALSE, BG_S_PARTIAL_COMPLETE...) is ok(). Value types; no shared state.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "openbits/hresult.h"

namespace openbits {

class [[nodiscard]] Status {
 public:
  Status() = default;
  explicit Status(HRESULT code, std::string message = {})
      : code_(code), message_(std::move(message)) {}

  static Status ok_status(HRESULT code = hr::S_OK) { return Status(code); }

  bool ok() const { return succeeded(code_); }
  HRESULT code() const { return code_; }
  // Free text for people; may be empty (then the code's description applies).
  const std::string& message() const { return message_; }

 private:
  HRESULT code_ = hr::S_OK;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : value_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(value_); }
  const T& value() const& { return std::get<T>(value_); }
  T& value() & { return std::get<T>(value_); }
  T&& value() && { return std::get<T>(std::move(value_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  Status status() const { return ok() ? Status() : std::get<Status>(value_); }
  HRESULT code() const { return ok() ? hr::S_OK : std::get<Status>(value_).code(); }

 private:
  std::variant<T, Status> value_;
};

}  // namespace openbits

// openbits/status.h: the one error type (Status) and Result<T>.
//
// A Status is an HRESULT, the BITS error context it arose in (BG_ERROR_CONTEXT_*, kNone
// when no one said) and a message for people. Context is added while an error propagates:
//   return status.with_context(ErrorContext::kLocalFile, "writing the temp file");
// A Status whose code is a success code (S_OK, S_FALSE, BG_S_PARTIAL_COMPLETE...) is ok().
// The RPC wire carries the code and the message only (docs/rpc-spec.md); a job's error
// object keeps its own context (ErrorInfo in types.h). Value types; no shared state.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "openbits/hresult.h"
#include "openbits/types.h"

namespace openbits {

class [[nodiscard]] Status {
 public:
  Status() = default;
  explicit Status(HRESULT code, std::string message = {})
      : code_(code), message_(std::move(message)) {}
  Status(HRESULT code, ErrorContext context, std::string message = {})
      : code_(code), context_(context), message_(std::move(message)) {}

  static Status ok_status(HRESULT code = hr::S_OK) { return Status(code); }

  bool ok() const { return succeeded(code_); }
  HRESULT code() const { return code_; }
  ErrorContext context() const { return context_; }
  // Free text for people; may be empty (then the code's description applies).
  const std::string& message() const { return message_; }

  // This failure seen from one level up: `what` prefixes the message ("what: message") and
  // `context` applies unless an inner level already set one (the innermost knows best).
  // A success passes through unchanged, so `return s.with_context(...)` needs no test.
  Status with_context(ErrorContext context, std::string_view what) const& {
    return Status(*this).with_context(context, what);
  }
  Status with_context(ErrorContext context, std::string_view what) && {
    if (ok()) return std::move(*this);
    if (context_ == ErrorContext::kNone) context_ = context;
    if (!what.empty()) {
      message_ = message_.empty() ? std::string(what) : std::string(what) + ": " + message_;
    }
    return std::move(*this);
  }

 private:
  HRESULT code_ = hr::S_OK;
  ErrorContext context_ = ErrorContext::kNone;
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
  ErrorContext context() const {
    return ok() ? ErrorContext::kNone : std::get<Status>(value_).context();
  }
  // As Status::with_context; a value passes through unchanged.
  Result with_context(ErrorContext context, std::string_view what) && {
    if (!ok()) return std::get<Status>(std::move(value_)).with_context(context, what);
    return std::move(*this);
  }

 private:
  std::variant<T, Status> value_;
};

}  // namespace openbits

// Errors as values: every fallible call returns Result<T> (or Status), never throws.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <type_traits>
#include <utility>

namespace albertner {

/// What kind of failure; the message says what and where.
enum class errc {
  io,            ///< file cannot be opened, read, mapped or written
  format,        ///< bytes do not follow the file format (safetensors, zip, pickle, JSON, spiece)
  unsupported,   ///< valid input that this library does not handle (dtype, activation, legacy .bin)
  config,        ///< model configuration is inconsistent or out of range
  missing,       ///< a required tensor, key or field is absent
  shape,         ///< a tensor or input has the wrong shape or dtype
  invalid_input, ///< caller input is bad: invalid UTF-8, id out of range, sequence too long
  security,      ///< input tried something forbidden (e.g. a pickle GLOBAL outside the allow-list)
  internal,      ///< a broken invariant inside the library (a bug; please report)
};

inline const char* to_string(errc c) noexcept {
  switch (c) {
  case errc::io: return "io";
  case errc::format: return "format";
  case errc::unsupported: return "unsupported";
  case errc::config: return "config";
  case errc::missing: return "missing";
  case errc::shape: return "shape";
  case errc::invalid_input: return "invalid_input";
  case errc::security: return "security";
  case errc::internal: return "internal";
  }
  return "unknown";
}

/// A failure: a category and a message that names the offending thing (file, tensor, byte offset...).
class Error {
public:
  Error(errc code, std::string message) : code_(code), message_(std::move(message)) {}
  errc code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  /// "format: model.safetensors: tensor 'x': data_offsets [8, 4] end before begin"
  std::string what() const { return std::string(to_string(code_)) + ": " + message_; }
  /// Returns a copy whose message is prefixed with "context: " (e.g. a file name).
  Error with_context(const std::string& context) const { return Error(code_, context + ": " + message_); }

private:
  errc code_;
  std::string message_;
};

/// Either a T or an Error. Accessing the wrong alternative is a programming error and is
/// checked with a message on stderr followed by std::abort(), the one place where the library
/// may stop: callers must test `ok()` first.
template <class T>
class [[nodiscard]] Result {
  static_assert(!std::is_same<T, Error>::value, "Result<Error> is ambiguous");

public:
  Result(T value) : ok_(true) { new (&storage_.value) T(std::move(value)); }
  Result(Error error) : ok_(false) { new (&storage_.error) Error(std::move(error)); }
  Result(const Result& o) : ok_(o.ok_) {
    if (ok_) new (&storage_.value) T(o.storage_.value);
    else new (&storage_.error) Error(o.storage_.error);
  }
  Result(Result&& o) noexcept(std::is_nothrow_move_constructible<T>::value) : ok_(o.ok_) {
    if (ok_) new (&storage_.value) T(std::move(o.storage_.value));
    else new (&storage_.error) Error(std::move(o.storage_.error));
  }
  Result& operator=(Result o) {
    destroy();
    ok_ = o.ok_;
    if (ok_) new (&storage_.value) T(std::move(o.storage_.value));
    else new (&storage_.error) Error(std::move(o.storage_.error));
    return *this;
  }
  ~Result() { destroy(); }

  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }

  T& value() & {
    check(true);
    return storage_.value;
  }
  const T& value() const& {
    check(true);
    return storage_.value;
  }
  T&& value() && {
    check(true);
    return std::move(storage_.value);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& {
    check(false);
    return storage_.error;
  }
  Error&& error() && {
    check(false);
    return std::move(storage_.error);
  }

private:
  void check(bool want_value) const {
    if (ok_ != want_value) {
      std::fprintf(stderr, "albertner: Result::%s() called on a Result holding %s\n", want_value ? "value" : "error",
                   ok_ ? "a value" : "an error");
      std::abort();
    }
  }
  void destroy() {
    if (ok_) storage_.value.~T();
    else storage_.error.~Error();
  }
  union Storage {
    Storage() {}
    ~Storage() {}
    T value;
    Error error;
  } storage_;
  bool ok_;
};

/// Result of an operation that produces nothing but can fail.
struct Ok {};
using Status = Result<Ok>;
inline Status ok_status() { return Ok{}; }

} // namespace albertner

/// Propagate an error: `ALBERTNER_TRY(auto x, parse(...));` or `ALBERTNER_CHECK(status)`.
#define ALBERTNER_CONCAT_IMPL(a, b) a##b
#define ALBERTNER_CONCAT(a, b) ALBERTNER_CONCAT_IMPL(a, b)
#define ALBERTNER_TRY_IMPL(tmp, decl, expr)     \
  auto tmp = (expr);                            \
  if (!tmp.ok()) return std::move(tmp).error(); \
  decl = std::move(tmp).value()
#define ALBERTNER_TRY(decl, expr) ALBERTNER_TRY_IMPL(ALBERTNER_CONCAT(albertner_try_, __LINE__), decl, expr)
#define ALBERTNER_CHECK(expr)                                               \
  do {                                                                      \
    auto albertner_check_ = (expr);                                         \
    if (!albertner_check_.ok()) return std::move(albertner_check_).error(); \
  } while (0)

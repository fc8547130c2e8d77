// Errors: one typed exception, caught at the CLI boundary.
//
// Kind decides the exit code: bad user input (a model, a file, an option, data) exits 2,
// anything else (a bug in edgeopt) exits 1.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace edgeopt {

enum class ErrorKind {
  kInvalidInput,  // the user's model, data or options are wrong (exit 2)
  kUnsupported,   // valid input that edgeopt cannot handle (exit 2)
  kInternal,      // a bug (exit 1)
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }
  int exit_code() const { return kind_ == ErrorKind::kInternal ? 1 : 2; }

 private:
  ErrorKind kind_;
};

namespace detail {
template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

template <class... Args>
[[noreturn]] void fail(ErrorKind kind, const Args&... args) {
  throw Error(kind, detail::concat(args...));
}

template <class... Args>
[[noreturn]] void fail_input(const Args&... args) {
  throw Error(ErrorKind::kInvalidInput, detail::concat(args...));
}

template <class... Args>
[[noreturn]] void fail_unsupported(const Args&... args) {
  throw Error(ErrorKind::kUnsupported, detail::concat(args...));
}

}  // namespace edgeopt

// Throws an invalid-input Error with the streamed message when cond is false.
#define EDGEOPT_CHECK(cond, ...)                     \
  do {                                               \
    if (!(cond)) ::edgeopt::fail_input(__VA_ARGS__); \
  } while (0)

// Typed errors with context. Library code throws these; only apps/ maps them to exit codes:
//   BadInput / Unsupported -> 2, CheckFailed -> 1, InternalError -> 3.
// Untrusted input (model files, pipeline JSON, datasets, plugins) produces BadInput or
// Unsupported; a broken invariant of hone itself produces InternalError.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace hone {

enum class ErrorKind {
  BadInput,     // a file, JSON document, value or argument is malformed
  Unsupported,  // well-formed, but hone cannot execute it (op, attribute, dtype)
  CheckFailed,  // a check that ran and failed (later: thresholds, budgets)
  Internal,     // a bug in hone
};

// Where an error happened. Every field is optional; message() prints the ones that are set,
// most general first: "model.onnx: node 'conv1' (Conv, opset 13): ...".
struct ErrorContext {
  std::string file;
  std::string json_path;
  std::string node;
  std::string op_type;
  int opset = 0;
  std::string value;
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string what, ErrorContext ctx = {})
      : std::runtime_error(what), kind_(kind), detail_(std::move(what)), ctx_(std::move(ctx)) {
    rebuild();
  }

  ErrorKind kind() const { return kind_; }
  const ErrorContext& context() const { return ctx_; }
  const std::string& detail() const { return detail_; }
  const char* what() const noexcept override { return full_.c_str(); }

  // Context is often only known further up the stack (the loader knows the file, the
  // interpreter the node); these fill in fields that are still empty and return *this
  // so a catch block can `throw e.with_file(path);` -- rethrowing keeps the type.
  Error& with_file(const std::string& f) {
    if (ctx_.file.empty()) ctx_.file = f;
    rebuild();
    return *this;
  }
  Error& with_node(const std::string& name, const std::string& op, int opset = 0) {
    if (ctx_.node.empty() && ctx_.op_type.empty()) {
      ctx_.node = name;
      ctx_.op_type = op;
      ctx_.opset = opset;
    }
    rebuild();
    return *this;
  }
  Error& with_json_path(const std::string& p) {
    if (ctx_.json_path.empty()) ctx_.json_path = p;
    rebuild();
    return *this;
  }

 private:
  void rebuild() {
    std::string s;
    if (!ctx_.file.empty()) s += ctx_.file + ": ";
    if (!ctx_.json_path.empty()) s += ctx_.json_path + ": ";
    if (!ctx_.node.empty() || !ctx_.op_type.empty()) {
      s += "node '" + ctx_.node + "'";
      if (!ctx_.op_type.empty()) {
        s += " (" + ctx_.op_type;
        if (ctx_.opset > 0) s += ", opset " + std::to_string(ctx_.opset);
        s += ")";
      }
      s += ": ";
    }
    s += detail_;
    full_ = std::move(s);
  }

  ErrorKind kind_;
  std::string detail_;
  ErrorContext ctx_;
  std::string full_;
};

template <typename... Args>
[[nodiscard]] Error bad_input(fmt::format_string<Args...> f, Args&&... args) {
  return Error(ErrorKind::BadInput, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
[[nodiscard]] Error unsupported(fmt::format_string<Args...> f, Args&&... args) {
  return Error(ErrorKind::Unsupported, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
[[nodiscard]] Error check_failed(fmt::format_string<Args...> f, Args&&... args) {
  return Error(ErrorKind::CheckFailed, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
[[nodiscard]] Error internal_error(fmt::format_string<Args...> f, Args&&... args) {
  return Error(ErrorKind::Internal, fmt::format(f, std::forward<Args>(args)...));
}

// Internal invariant: a bug in hone if it fails. Cheap enough to keep on in release builds.
#define HONE_ASSERT(cond)                                                                  \
  do {                                                                                     \
    if (!(cond)) throw ::hone::internal_error("assertion failed: {} ({}:{})", #cond,       \
                                              __FILE__, __LINE__);                         \
  } while (0)

}  // namespace hone

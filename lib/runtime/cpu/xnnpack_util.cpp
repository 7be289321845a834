#include "runtime/cpu/xnnpack_util.h"

#include "support/error.h"

#include <spdlog/spdlog.h>

#include <mutex>

namespace hone::runtime::cpu {

bool layout_free(const ValueDesc& v) {
  if (v.shape.size() != 4) return true;
  return v.shape[1] == 1 || v.shape[2] * v.shape[3] == 1;
}

namespace xnn {

bool available() {
  static const bool ok = [] {
    const xnn_status s = xnn_initialize(nullptr);
    if (s != xnn_status_success) spdlog::warn("cpu runtime: XNNPACK does not initialise on this CPU (status {})", static_cast<int>(s));
    return s == xnn_status_success;
  }();
  return ok;
}

Op created(xnn_status status, xnn_operator_t op, const ir::Node& node, const char* what) {
  if (status == xnn_status_success) return Op(op);
  spdlog::debug("cpu runtime: {} declined {} (status {})", what, node.label(), static_cast<int>(status));
  if (op) xnn_delete_operator(op);
  return nullptr;
}

XnnKernel::XnnKernel(std::string name, std::vector<Op> ops, Setup setup, pthreadpool_t pool)
    : name_(std::move(name)), ops_(std::move(ops)), setup_(std::move(setup)), pool_(pool) {}

void XnnKernel::run(void* const* ptrs) {
  if (bound_.size() != in.size() + out.size()) bound_.assign(in.size() + out.size(), nullptr);
  bool same = ready_;
  size_t k = 0;
  for (const auto* ids : {&in, &out}) {
    for (const int id : *ids) {
      void* p = id >= 0 ? ptrs[id] : nullptr;
      if (bound_[k] != p) same = false;
      bound_[k++] = p;
    }
  }
  if (!same) {
    const xnn_status s = setup_(*this, ptrs, pool_);
    if (s != xnn_status_success) throw internal_error("XNNPACK setup of {} failed (status {})", name_, static_cast<int>(s));
    ready_ = true;
  }
  for (const Op& op : ops_) {
    const xnn_status s = xnn_run_operator(op.get(), pool_);
    if (s != xnn_status_success) throw internal_error("XNNPACK {} failed (status {})", name_, static_cast<int>(s));
  }
}

Nchw dims4(const ValueDesc& v) {
  HONE_ASSERT(v.shape.size() == 4);
  return {static_cast<size_t>(v.shape[0]), static_cast<size_t>(v.shape[1]), static_cast<size_t>(v.shape[2]),
          static_cast<size_t>(v.shape[3])};
}

bool is_float(const ValueDesc& v) { return v.id >= 0 && v.dtype == ir::DType::Float32; }

}  // namespace xnn
}  // namespace hone::runtime::cpu

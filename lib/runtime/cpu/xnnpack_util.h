// The XNNPACK side of the CPU runtime's fast kernels (Debian libxnnpack-dev): initialisation,
// operator ownership, and the one kernel class every XNNPACK-backed step uses. The operators are
// created at prepare (that is when XNNPACK packs the weights into its own layout); pointers are
// bound by setup on the first run and again only when a graph input moves, so the steady-state
// run is xnn_run_operator and nothing else.
#pragma once

#include "runtime/cpu/kernel.h"

#include <xnnpack.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hone::runtime::cpu::xnn {

// xnn_initialize once per process; false when XNNPACK does not support this CPU (then every
// XNNPACK factory declines and the reference kernels run).
bool available();

struct OpDeleter {
  void operator()(xnn_operator_t op) const { xnn_delete_operator(op); }
};
using Op = std::unique_ptr<xnn_operator, OpDeleter>;

// The created operator, or nullptr when XNNPACK rejects the parameters (the node then falls
// back). `what` names the call for the debug log.
Op created(xnn_status status, xnn_operator_t op, const ir::Node& node, const char* what);

// One XNNPACK operator (or several run in order, e.g. Concat's copies). `setup` binds the
// pointers it reads from the table (its own `in` / `out` ids); it runs on the first call and
// whenever one of those pointers changed since.
class XnnKernel final : public Kernel {
 public:
  using Setup = std::function<xnn_status(const XnnKernel&, void* const* ptrs, pthreadpool_t pool)>;
  XnnKernel(std::string name, std::vector<Op> ops, Setup setup, pthreadpool_t pool);
  void run(void* const* ptrs) override;
  std::string name() const override { return name_; }
  xnn_operator_t op(size_t i = 0) const { return ops_[i].get(); }

 private:
  std::string name_;
  std::vector<Op> ops_;
  Setup setup_;
  pthreadpool_t pool_;
  std::vector<void*> bound_;  // the pointers setup last saw (in, then out)
  bool ready_ = false;
};

// Shape helpers for 4-D values.
struct Nchw {
  size_t n, c, h, w;
};
Nchw dims4(const ValueDesc& v);
bool is_float(const ValueDesc& v);

}  // namespace hone::runtime::cpu::xnn

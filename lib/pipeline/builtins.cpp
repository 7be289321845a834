// The one list of built-in components. Order here is the order of `hone list` and of the
// generated docs. A new component: write its file in its kind's folder, declare its
// registration function in that folder's header, add one line here.
#include "compilers/compilers.h"
#include "datasets/datasets.h"
#include "models/models.h"
#include "passes/passes.h"
#include "pipeline/registry.h"
#include "platforms/platforms.h"
#include "runtime/runtimes.h"

namespace hone::pipeline {

void register_builtins(Registry& r) {
  // model_wrapper
  r.add(models::onnx_classifier_registration());
  r.add(models::onnx_generic_registration());
  // dataset
  r.add(datasets::idx_dataset_registration());
  r.add(datasets::npy_dataset_registration());
  r.add(datasets::random_dataset_registration());
  // optimizer
  r.add(passes::cleanup_registration());
  r.add(passes::fold_batch_norm_registration());
  r.add(passes::quantize_static_registration());
  r.add(passes::quantize_dynamic_registration());
  r.add(passes::convert_float16_registration());
  r.add(passes::prune_magnitude_registration());
  r.add(passes::prune_n_m_registration());
  r.add(passes::prune_channels_registration());
  r.add(passes::cluster_weights_registration());
  r.add(passes::external_registration());
  // compiler
  r.add(compilers::none_compiler_registration());
  r.add(compilers::c_compiler_registration());
  // runtime
  r.add(runtime::reference_runtime_registration());
  r.add(runtime::cpu_runtime_registration());
  r.add(runtime::executable_runtime_registration());
  // platform
  r.add(platforms::host_platform_registration());
  for (auto& p : platforms::file_platform_registrations()) r.add(std::move(p));  // platforms/*.json
}

}  // namespace hone::pipeline

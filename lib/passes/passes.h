// Built-in optimizer passes (registered in pipeline/builtins.cpp), one file each.
#pragma once
#include "ir/graph.h"
#include "pipeline/registry.h"

#include <nlohmann/json.hpp>

namespace hone::passes {
pipeline::Registration cleanup_registration();            // cleanup.cpp
pipeline::Registration fold_batch_norm_registration();    // fold_batch_norm.cpp
pipeline::Registration quantize_static_registration();    // quantize_static.cpp
pipeline::Registration quantize_dynamic_registration();   // quantize_dynamic.cpp
pipeline::Registration convert_float16_registration();    // convert_float16.cpp
pipeline::Registration prune_magnitude_registration();    // prune_magnitude.cpp
pipeline::Registration prune_n_m_registration();          // prune_n_m.cpp
pipeline::Registration prune_channels_registration();     // prune_channels.cpp
pipeline::Registration cluster_weights_registration();    // cluster_weights.cpp
pipeline::Registration external_registration();           // external.cpp

// The cleanup pass as a function (the runner applies it before the first pass and after each
// pass): constant folding, no-op removal, dead-node elimination. Returns its report detail.
nlohmann::json cleanup(ir::Model& model);
}  // namespace hone::passes

// Built-in optimizer passes (registered in pipeline/builtins.cpp).
#pragma once
#include "pipeline/registry.h"
namespace hone::passes {
pipeline::Registration fold_batch_norm_registration();  // fold_batch_norm.cpp
}

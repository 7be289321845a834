// Built-in model wrappers (registered in pipeline/builtins.cpp).
#pragma once
#include "pipeline/registry.h"
namespace hone::models {
pipeline::Registration onnx_classifier_registration();  // onnx_model.cpp
pipeline::Registration onnx_generic_registration();     // onnx_model.cpp
}

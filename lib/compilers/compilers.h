// Built-in compilers (registered in pipeline/builtins.cpp).
#pragma once
#include "pipeline/registry.h"
namespace hone::compilers {
pipeline::Registration none_compiler_registration();  // none.cpp: the model as an ONNX file
}

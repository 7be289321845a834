// Built-in compilers (registered in pipeline/builtins.cpp).
#pragma once
#include "pipeline/registry.h"
namespace hone::compilers {
pipeline::Registration none_compiler_registration();  // none.cpp: the model as an ONNX file
pipeline::Registration c_compiler_registration();     // c/c_compiler.cpp: standalone C99, built per platform
}

// Built-in runtimes (registered in pipeline/builtins.cpp).
#pragma once
#include "pipeline/registry.h"
namespace hone::runtime {
pipeline::Registration reference_runtime_registration();  // reference/reference_runtime.cpp
pipeline::Registration cpu_runtime_registration();        // cpu/cpu_runtime.cpp
pipeline::Registration executable_runtime_registration(); // executable_runtime.cpp: the c compiler's program
}

// Built-in platforms (registered in pipeline/builtins.cpp).
#pragma once
#include "pipeline/registry.h"
namespace hone::platforms {
pipeline::Registration host_platform_registration();  // host.cpp: this machine, natively
}

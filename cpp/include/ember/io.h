// Saving and loading named tensors in the safetensors format (what ember.save / ember.load and
// Module::save use). Writes are atomic: a crash never leaves a half-written file.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ember/tensor.h"

namespace ember::io {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
using Metadata = std::vector<std::pair<std::string, std::string>>;

void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata = {});

struct Loaded {
  NamedTensors tensors;  // in the order the file's header lists them
  Metadata metadata;
};
// Reads a safetensors file. float16/bfloat16 data comes back as float32, other integer types as
// int64. Malformed files raise ValueError naming the problem.
Loaded load_safetensors(const std::string& path);

}  // namespace ember::io

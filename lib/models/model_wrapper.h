// Model wrappers: an ONNX model plus what a deployment needs to know about it -- which input
// takes the samples, how raw samples become model input (scaling, per-channel mean/std,
// layout), and what the outputs mean (class scores as logits or probabilities).
#pragma once

#include "datasets/dataset.h"
#include "ir/graph.h"
#include "ir/tensor.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace hone::models {

class ModelWrapper {
 public:
  virtual ~ModelWrapper() = default;

  // The model as loaded (and, after the optimizers ran, as transformed by them).
  virtual ir::Model& model() = 0;
  virtual const ir::Model& model() const = 0;
  virtual std::string model_path() const = 0;

  // The graph input that receives samples; every other input must have an initializer.
  virtual std::string input_name() const = 0;
  // That input's shape without the batch dimension, e.g. {1, 28, 28}.
  virtual std::vector<int64_t> sample_shape() const = 0;
  // The input's batch dimension when the model fixes it (usually 1), -1 when it is symbolic.
  virtual int64_t batch_dim() const = 0;

  // Classes per sample (0 for a wrapper that does not classify) and the names the user gave
  // (empty when none were given; the runner then falls back to the dataset's names).
  virtual int64_t num_classes() const = 0;
  virtual std::vector<std::string> class_names() const = 0;

  // Checks that `dataset`'s samples fit the model input (shape, layout, dtype) and that its
  // labels lie within the class count. Throws BadInput naming both shapes.
  virtual void check_dataset(const datasets::Dataset& dataset) const = 0;

  // Raw dataset samples [n, ...] -> model input [n, sample_shape...] in the input's dtype.
  virtual ir::Tensor preprocess(const ir::Tensor& samples) const = 0;
  // Model outputs -> class scores float32 [n, num_classes] (empty tensor when num_classes is 0).
  virtual ir::Tensor postprocess(const std::vector<ir::Tensor>& outputs) const = 0;

  // What the wrapper resolved (input, layout, classes...), for provenance.
  virtual nlohmann::json describe() const = 0;
};

}  // namespace hone::models

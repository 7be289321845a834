// `onnx_classifier` and `onnx_generic`: an ONNX file plus how samples become its input.
//
// Preprocessing, in order: map the sample's layout to the model's (unit dims may differ:
// a 28x28 image feeds a [1, 28, 28] input; HWC images feed an NCHW model by transposing),
// scale integer samples to [0, 1] by their type's maximum, then (x - mean[c]) / std[c].
#include "ir/onnx_io.h"
#include "models/model_wrapper.h"
#include "models/models.h"
#include "support/error.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <limits>
#include <optional>

namespace hone::models {

namespace {

using nlohmann::json;
using pipeline::ParamType;

std::string shape_str(const std::vector<int64_t>& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

std::vector<int64_t> squeeze_units(const std::vector<int64_t>& s) {
  std::vector<int64_t> out;
  for (int64_t d : s) {
    if (d != 1) out.push_back(d);
  }
  return out;
}

int64_t product(const std::vector<int64_t>& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

// Largest value of an integer dtype: uint8 pixels scale by 1/255.
double integer_max(ir::DType t) {
  switch (t) {
    case ir::DType::UInt8: return 255.0;
    case ir::DType::Int8: return 127.0;
    case ir::DType::UInt16: return 65535.0;
    case ir::DType::Int16: return 32767.0;
    default: return 1.0;
  }
}

struct Options {
  std::string model_path;
  std::string input;
  std::string output;
  std::string layout = "NCHW";         // the model input's layout (rank-4 inputs)
  std::string sample_layout = "same";  // the dataset's layout: same | HWC | CHW
  bool scale_to_unit = false;
  std::vector<double> mean, stddev;
  std::vector<std::string> class_names;
  std::string output_kind = "logits";
  bool classifier = true;
};

class OnnxModel final : public ModelWrapper {
 public:
  OnnxModel(Options opt, const pipeline::BuildContext& ctx) : opt_(std::move(opt)), ctx_(ctx) {
    try {
      model_ = ir::load_onnx(opt_.model_path);
    } catch (Error& e) {
      throw e.with_json_path(ctx_.json_path + "/model");
    }
    const ir::Graph& g = model_.graph;
    if (g.inputs.empty()) throw bad_input("model has no inputs").with_file(opt_.model_path);
    if (opt_.input.empty()) opt_.input = g.inputs.front();
    if (!g.is_graph_input(opt_.input)) {
      throw bad_input("model has no input '{}' (inputs: {})", opt_.input, fmt::join(g.inputs, ", "))
          .with_json_path(ctx_.json_path + "/input");
    }
    for (const auto& in : g.inputs) {
      if (in != opt_.input) {
        throw unsupported("model input '{}' would get no data: only '{}' is fed from the dataset",
                          in, opt_.input)
            .with_file(opt_.model_path);
      }
    }
    const ir::ValueInfo* vi = g.value_info(opt_.input);
    if (!vi || vi->dtype != ir::DType::Float32) {
      throw unsupported("model input '{}' is {}, expected float32", opt_.input,
                        vi ? vi->str() : "untyped")
          .with_file(opt_.model_path);
    }
    if (!vi->shape || vi->shape->empty()) {
      throw unsupported("model input '{}' has no shape; a batch dimension is expected", opt_.input)
          .with_file(opt_.model_path);
    }
    batch_dim_ = (*vi->shape)[0].known() ? (*vi->shape)[0].value : -1;
    for (size_t i = 1; i < vi->shape->size(); ++i) {
      const ir::Dim& d = (*vi->shape)[i];
      if (!d.known()) {
        throw unsupported("model input '{}' is {}: every dimension but the batch must be a number",
                          opt_.input, vi->str())
            .with_file(opt_.model_path);
      }
      sample_shape_.push_back(d.value);
    }
    if (opt_.classifier) init_classes();
    if (!opt_.mean.empty() || !opt_.stddev.empty()) check_normalization();
  }

  ir::Model& model() override { return model_; }
  const ir::Model& model() const override { return model_; }
  std::string model_path() const override { return opt_.model_path; }
  std::string input_name() const override { return opt_.input; }
  std::vector<int64_t> sample_shape() const override { return sample_shape_; }
  int64_t num_classes() const override { return classes_; }
  std::vector<std::string> class_names() const override { return opt_.class_names; }

  void check_dataset(const datasets::Dataset& ds) const override {
    const std::vector<int64_t> s = ds.sample_shape();
    if (!layout_map(s)) {
      throw bad_input("dataset samples are {} ({}), but model input '{}' takes {} per sample{}",
                      shape_str(s), ds.source(), opt_.input, shape_str(sample_shape_),
                      opt_.sample_layout == "same" ? "" : " with sample_layout " + opt_.sample_layout)
          .with_json_path("/dataset");
    }
    const ir::DType dt = ds.sample_dtype();
    if (!ir::dtype_is_float(dt) && !ir::dtype_is_integer(dt)) {
      throw bad_input("dataset samples are {}; numbers expected", ir::dtype_name(dt)).with_json_path("/dataset");
    }
    if (classes_ > 0) {
      const auto& labels = ds.labels();
      for (size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] < 0 || labels[i] >= classes_) {
          throw bad_input("label {} of sample {} ({}) is outside the model's {} classes [0, {})",
                          labels[i], i, ds.source(), classes_, classes_)
              .with_json_path("/dataset");
        }
      }
    }
  }

  ir::Tensor preprocess(const ir::Tensor& samples) const override {
    if (samples.rank() < 1) throw internal_error("preprocess: samples without a batch dimension");
    const int64_t n = samples.dim(0);
    std::vector<int64_t> s(samples.shape().begin() + 1, samples.shape().end());
    const auto map = layout_map(s);
    if (!map) throw bad_input("samples {} do not fit model input {}", shape_str(s), shape_str(sample_shape_));
    ir::Shape out_shape{n};
    out_shape.insert(out_shape.end(), sample_shape_.begin(), sample_shape_.end());
    ir::Tensor out = ir::Tensor::zeros(ir::DType::Float32, out_shape);
    float* dst = out.data<float>();
    const int64_t per = product(sample_shape_);
    const double scale = opt_.scale_to_unit && ir::dtype_is_integer(samples.dtype())
                             ? 1.0 / integer_max(samples.dtype()) : 1.0;
    const int64_t channels = channel_count();
    const int64_t spatial = channels > 0 ? per / channels : per;
    for (int64_t b = 0; b < n; ++b) {
      for (int64_t i = 0; i < per; ++i) {
        const int64_t src = map->empty() ? i : (*map)[static_cast<size_t>(i)];
        double x = samples.get_as_double(b * per + src) * scale;
        if (!mean_.empty()) {
          const int64_t c = channel_of(i, channels, spatial);
          x = (x - mean_[static_cast<size_t>(c)]) / std_[static_cast<size_t>(c)];
        }
        dst[b * per + i] = static_cast<float>(x);
      }
    }
    return out;
  }

  ir::Tensor postprocess(const std::vector<ir::Tensor>& outputs) const override {
    if (classes_ == 0) return {};
    const ir::Tensor& y = outputs.at(output_index_);
    if (y.dtype() != ir::DType::Float32 || y.rank() < 1 || y.numel() != y.dim(0) * classes_) {
      throw bad_input("model output '{}' is {}{}; expected float32 [n, {}]", opt_.output,
                      ir::dtype_name(y.dtype()), shape_str(y.shape()), classes_)
          .with_file(opt_.model_path);
    }
    return y.reshaped({y.dim(0), classes_});
  }

  json describe() const override {
    json d = {{"model", opt_.model_path}, {"input", opt_.input}, {"input_shape", sample_shape_},
              {"batch_dim", batch_dim_ < 0 ? json("dynamic") : json(batch_dim_)}};
    if (opt_.classifier) {
      d["output"] = opt_.output;
      d["output_kind"] = opt_.output_kind;
      d["classes"] = classes_;
      d["class_names"] = opt_.class_names;
      d["layout"] = opt_.layout;
      d["sample_layout"] = opt_.sample_layout;
      d["scale_to_unit"] = opt_.scale_to_unit;
      d["mean"] = opt_.mean;
      d["std"] = opt_.stddev;
    }
    return d;
  }

  int64_t batch_dim() const override { return batch_dim_; }

 private:
  void init_classes() {
    const ir::Graph& g = model_.graph;
    if (opt_.output.empty()) opt_.output = g.outputs.front();
    output_index_ = static_cast<size_t>(
        std::find(g.outputs.begin(), g.outputs.end(), opt_.output) - g.outputs.begin());
    if (output_index_ == g.outputs.size()) {
      throw bad_input("model has no output '{}' (outputs: {})", opt_.output, fmt::join(g.outputs, ", "))
          .with_json_path(ctx_.json_path + "/output");
    }
    const ir::ValueInfo* vi = g.value_info(opt_.output);
    if (!vi || !vi->shape || vi->shape->empty() || !vi->shape->back().known()) {
      throw unsupported("cannot tell the class count: output '{}' is {}; its last dimension must be a number",
                        opt_.output, vi ? vi->str() : "untyped")
          .with_file(opt_.model_path);
    }
    classes_ = vi->shape->back().value;
    if (classes_ < 2) {
      throw bad_input("output '{}' has {} class(es); a classifier needs at least 2", opt_.output, classes_)
          .with_file(opt_.model_path);
    }
    if (!opt_.class_names.empty() && static_cast<int64_t>(opt_.class_names.size()) != classes_) {
      throw bad_input("{} class names for a model with {} classes", opt_.class_names.size(), classes_)
          .with_json_path(ctx_.json_path + "/class_names");
    }
  }

  void check_normalization() {
    const int64_t c = channel_count();
    auto expand = [&](const std::vector<double>& v, const char* key, double fallback) {
      std::vector<double> out;
      if (v.empty()) out.assign(static_cast<size_t>(c), fallback);
      else if (v.size() == 1) out.assign(static_cast<size_t>(c), v[0]);
      else if (static_cast<int64_t>(v.size()) == c) out = v;
      else {
        throw bad_input("{} values for {} input channels (give 1 or {})", v.size(), c, c)
            .with_json_path(ctx_.json_path + "/" + key);
      }
      return out;
    };
    mean_ = expand(opt_.mean, "mean", 0.0);
    std_ = expand(opt_.stddev, "std", 1.0);
    for (double s : std_) {
      if (!(s > 0.0)) throw bad_input("std must be > 0, got {}", s).with_json_path(ctx_.json_path + "/std");
    }
  }

  // Channels of the model input: dim 0 (NCHW) or the last dim (NHWC) of a sample; 1 for
  // inputs without a channel dimension.
  int64_t channel_count() const {
    if (sample_shape_.size() != 3) return 1;
    return opt_.layout == "NHWC" ? sample_shape_[2] : sample_shape_[0];
  }
  int64_t channel_of(int64_t i, int64_t channels, int64_t spatial) const {
    if (channels <= 1) return 0;
    return opt_.layout == "NHWC" ? i % channels : i / spatial;
  }

  // For every element of the model's sample (row-major), the index of the dataset element that
  // feeds it; an empty vector when that is the element's own index (no transpose: the common
  // case builds no table per batch); nullopt when the shapes cannot be matched.
  std::optional<std::vector<int64_t>> layout_map(const std::vector<int64_t>& s) const {
    const int64_t per = product(sample_shape_);
    if (product(s) != per) return std::nullopt;
    const bool transpose = opt_.sample_layout != "same" && sample_shape_.size() == 3 &&
                           s.size() == 3 && opt_.sample_layout != (opt_.layout == "NHWC" ? "HWC" : "CHW");
    if (!transpose) {
      if (squeeze_units(s) != squeeze_units(sample_shape_)) return std::nullopt;
      return std::vector<int64_t>{};
    }
    // Model CHW fed from HWC samples, or model HWC fed from CHW samples.
    std::vector<int64_t> map(static_cast<size_t>(per));
    if (opt_.layout == "NCHW") {
      const int64_t C = sample_shape_[0], H = sample_shape_[1], W = sample_shape_[2];
      if (s != std::vector<int64_t>{H, W, C}) return std::nullopt;
      for (int64_t c = 0; c < C; ++c)
        for (int64_t h = 0; h < H; ++h)
          for (int64_t w = 0; w < W; ++w) map[static_cast<size_t>((c * H + h) * W + w)] = (h * W + w) * C + c;
    } else {
      const int64_t H = sample_shape_[0], W = sample_shape_[1], C = sample_shape_[2];
      if (s != std::vector<int64_t>{C, H, W}) return std::nullopt;
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w)
          for (int64_t c = 0; c < C; ++c) map[static_cast<size_t>((h * W + w) * C + c)] = (c * H + h) * W + w;
    }
    return map;
  }

  Options opt_;
  pipeline::BuildContext ctx_;
  ir::Model model_;
  std::vector<int64_t> sample_shape_;
  int64_t batch_dim_ = -1;
  int64_t classes_ = 0;
  size_t output_index_ = 0;
  std::vector<double> mean_, std_;
};

pipeline::ParamSpec model_param() {
  return {"model", ParamType::Path, nullptr, true, {}, {}, {},
          "The ONNX model file (relative to the pipeline file)"};
}
pipeline::ParamSpec input_param() {
  return {"input", ParamType::String, "", false, {}, {}, {},
          "Graph input fed with dataset samples; \"\" = the first graph input"};
}

}  // namespace

pipeline::Registration onnx_classifier_registration() {
  pipeline::ComponentSpec spec;
  spec.name = "onnx_classifier";
  spec.description = "An ONNX image/feature classifier: preprocessing, class names, top-k quality";
  spec.params = {
      model_param(),
      input_param(),
      {"output", ParamType::String, "", false, {}, {}, {},
       "Graph output holding class scores [N, classes]; \"\" = the first graph output"},
      {"output_kind", ParamType::String, "logits", false, {}, {}, {"logits", "probabilities"},
       "What the scores are (top-k is the same for both; recorded in the measurements)"},
      {"layout", ParamType::String, "NCHW", false, {}, {}, {"NCHW", "NHWC"},
       "Layout of the model input (rank-4 inputs)"},
      {"sample_layout", ParamType::String, "same", false, {}, {}, {"same", "HWC", "CHW"},
       "Layout of the dataset's samples; HWC samples feeding an NCHW model are transposed"},
      {"scale_to_unit", ParamType::Bool, true, false, {}, {}, {},
       "Divide integer samples by their type's maximum (uint8: 255) so they land in [0, 1]"},
      {"mean", ParamType::FloatList, json::array(), false, {}, {}, {},
       "Per-channel mean subtracted after scaling (1 value or one per channel)"},
      {"std", ParamType::FloatList, json::array(), false, {}, {}, {},
       "Per-channel standard deviation divided by after the mean (1 value or one per channel)"},
      {"class_names", ParamType::StringList, json::array(), false, {}, {}, {},
       "Class names in output order; [] = the dataset's names, else 0..C-1"},
  };
  return pipeline::make_registration<ModelWrapper>(
      std::move(spec), [](const json& p, const pipeline::BuildContext& ctx) {
        Options o;
        o.model_path = p.at("model").get<std::string>();
        o.input = p.at("input").get<std::string>();
        o.output = p.at("output").get<std::string>();
        o.output_kind = p.at("output_kind").get<std::string>();
        o.layout = p.at("layout").get<std::string>();
        o.sample_layout = p.at("sample_layout").get<std::string>();
        o.scale_to_unit = p.at("scale_to_unit").get<bool>();
        o.mean = p.at("mean").get<std::vector<double>>();
        o.stddev = p.at("std").get<std::vector<double>>();
        o.class_names = p.at("class_names").get<std::vector<std::string>>();
        return std::make_unique<OnnxModel>(std::move(o), ctx);
      });
}

pipeline::Registration onnx_generic_registration() {
  pipeline::ComponentSpec spec;
  spec.name = "onnx_generic";
  spec.description = "Any ONNX model with one float32 input, for latency and size only (no quality)";
  spec.params = {model_param(), input_param()};
  return pipeline::make_registration<ModelWrapper>(
      std::move(spec), [](const json& p, const pipeline::BuildContext& ctx) {
        Options o;
        o.model_path = p.at("model").get<std::string>();
        o.input = p.at("input").get<std::string>();
        o.classifier = false;
        return std::make_unique<OnnxModel>(std::move(o), ctx);
      });
}

}  // namespace hone::models

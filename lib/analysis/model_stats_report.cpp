// JSON and text renderings of ModelStats (`hone inspect [--json]`); schema in docs/inspect.md.
#include "analysis/model_stats.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iterator>

namespace hone::analysis {

// ------------------------------------------------------------------------------- JSON
namespace {

using nlohmann::json;

template <typename T>
json or_null(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

// A dim is its number, its symbol ("N"), or null when unknown.
json dim_json(const ir::Dim& d) {
  if (d.known()) return d.value;
  return d.param.empty() ? json(nullptr) : json(d.param);
}

json value_json(const ValueStats& v) {
  json shape = nullptr;  // rank unknown
  if (v.info.shape) {
    shape = json::array();
    for (const ir::Dim& d : *v.info.shape) shape.push_back(dim_json(d));
  }
  return {{"name", v.name}, {"dtype", ir::dtype_name(v.info.dtype)}, {"shape", shape},
          {"bytes", or_null(v.bytes)}};
}

json values_json(const std::vector<ValueStats>& values) {
  json a = json::array();
  for (const ValueStats& v : values) a.push_back(value_json(v));
  return a;
}

std::string domain_name(const std::string& domain) { return domain.empty() ? "ai.onnx" : domain; }

json totals_json(const ModelStats& st) {
  json weight_bytes = json::object();
  for (const auto& [dt, bytes] : st.weight_bytes) {
    weight_bytes[std::string(ir::dtype_name(dt))] = bytes;
  }
  return {{"nodes", st.node_count},
          {"parameters", st.parameters},
          {"macs", st.macs},
          {"macs_unknown_nodes", st.macs_unknown_nodes},
          {"weight_bytes", weight_bytes},
          {"weight_bytes_total", st.weight_bytes_total},
          {"zero_weights", st.zero_weights},
          {"counted_weights", st.counted_weights},
          {"zero_weight_fraction", st.zero_weight_fraction()},
          {"peak_activation_bytes", or_null(st.peak_activation_bytes)},
          {"peak_activation_node", st.peak_activation_node},
          {"activation_size_unknown", st.activation_size_unknown}};
}

json node_json(const NodeStats& n) {
  return {{"name", n.name},
          {"op_type", n.op_type},
          {"outputs", values_json(n.outputs)},
          {"params", n.params},
          {"macs", n.macs_known ? json(n.macs) : json(nullptr)}};
}

}  // namespace

nlohmann::json to_json(const ModelStats& st) {
  json opsets = json::object();
  for (const auto& [domain, version] : st.opset_imports) opsets[domain_name(domain)] = version;
  json op_types = json::array();
  for (const OpTypeCount& c : st.op_types) {
    op_types.push_back({{"op_type", c.op_type}, {"count", c.count}, {"macs", c.macs}});
  }
  json nodes = json::array();
  for (const NodeStats& n : st.nodes) nodes.push_back(node_json(n));
  const json graph = {
      {"name", st.graph_name}, {"producer", st.producer}, {"ir_version", st.ir_version}};
  return {{"graph", graph},
          {"inputs", values_json(st.inputs)},
          {"outputs", values_json(st.outputs)},
          {"opset_imports", opsets},
          {"assumed_batch", or_null(st.assumed_batch)},
          {"totals", totals_json(st)},
          {"op_types", op_types},
          {"nodes", nodes}};
}

// ------------------------------------------------------------------------------ table
namespace {

// Counts with SI prefixes: 1814073344 -> "1.81 G".
std::string si_count(int64_t n) {
  constexpr const char* kPrefix[] = {"K", "M", "G", "T", "P", "E"};
  if (n < 1000) return std::to_string(n);
  double v = static_cast<double>(n);
  size_t i = 0;
  for (v /= 1000; v >= 1000 && i + 1 < std::size(kPrefix); v /= 1000) ++i;
  return fmt::format("{:.2f} {}", v, kPrefix[i]);
}

// Bytes with binary prefixes: 3211264 -> "3.06 MiB".
std::string byte_size(int64_t n) {
  constexpr const char* kPrefix[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (n < 1024) return fmt::format("{} B", n);
  double v = static_cast<double>(n);
  size_t i = 0;
  for (v /= 1024; v >= 1024 && i + 1 < std::size(kPrefix); v /= 1024) ++i;
  return fmt::format("{:.2f} {}", v, kPrefix[i]);
}

std::string byte_size(const std::optional<int64_t>& n) { return n ? byte_size(*n) : "?"; }

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string s;
  for (size_t i = 0; i < parts.size(); ++i) s += (i ? std::string(sep) : "") + parts[i];
  return s;
}

// "a, b, c and 4 more": unknown lists can be long.
std::string short_list(const std::vector<std::string>& names, size_t max_shown = 3) {
  std::vector<std::string> shown(names.begin(), names.begin() + std::min(max_shown, names.size()));
  std::string s = join(shown, ", ");
  if (names.size() > max_shown) s += fmt::format(" and {} more", names.size() - max_shown);
  return s;
}

void append_header(const ModelStats& st, std::string& out) {
  auto line = [&out](std::string_view key, const std::string& value) {
    fmt::format_to(std::back_inserter(out), "{:<18}{}\n", key, value);
  };
  const std::string producer = st.producer.empty() ? "" : fmt::format("producer {}, ", st.producer);
  line("Graph", fmt::format("{} ({}IR version {})", st.graph_name, producer, st.ir_version));
  std::vector<std::string> opsets;
  for (const auto& [domain, version] : st.opset_imports) {
    opsets.push_back(fmt::format("{} {}", domain_name(domain), version));
  }
  line("Opsets", join(opsets, ", "));
  auto value = [](const ValueStats& v) {
    return fmt::format("{} {} ({})", v.name, v.info.str(), byte_size(v.bytes));
  };
  for (const ValueStats& v : st.inputs) line("Input", value(v));
  for (const ValueStats& v : st.outputs) line("Output", value(v));
  if (st.assumed_batch) {
    line("Assumed batch", fmt::format("{} (leading dims that are not numbers)", *st.assumed_batch));
  }
  out += "\n";
  line("Nodes", std::to_string(st.node_count));
  line("Parameters", fmt::format("{} ({})", si_count(st.parameters), st.parameters));
  std::string macs = fmt::format("{} ({})", si_count(st.macs), st.macs);
  if (!st.macs_unknown_nodes.empty()) {
    macs += fmt::format(", unknown for {}", short_list(st.macs_unknown_nodes));
  }
  line("MACs", macs);
  std::vector<std::string> by_dtype;
  for (const auto& [dt, bytes] : st.weight_bytes) {
    by_dtype.push_back(fmt::format("{} {}", ir::dtype_name(dt), byte_size(bytes)));
  }
  line("Weight bytes",
       fmt::format("{} ({})", byte_size(st.weight_bytes_total), join(by_dtype, ", ")));
  line("Zero weights", fmt::format("{:.2f} % ({} of {})", 100.0 * st.zero_weight_fraction(),
                                   st.zero_weights, st.counted_weights));
  std::string peak = byte_size(st.peak_activation_bytes);
  if (!st.peak_activation_node.empty()) {
    peak += fmt::format(" at node '{}'", st.peak_activation_node);
  }
  if (!st.activation_size_unknown.empty()) {
    peak += fmt::format(", without values of unknown size: {}",
                        short_list(st.activation_size_unknown));
  }
  line("Peak activations", peak);
}

size_t column_width(const std::vector<std::string>& cells, size_t header, size_t cap) {
  size_t w = header;
  for (const std::string& c : cells) w = std::max(w, c.size());
  return std::min(w, cap);
}

void append_op_types(const ModelStats& st, std::string& out) {
  std::vector<std::string> names;
  for (const OpTypeCount& c : st.op_types) names.push_back(c.op_type);
  const size_t w = column_width(names, 7, 40);
  fmt::format_to(std::back_inserter(out), "\n{:<{}}  {:>6}  {:>10}\n", "Op type", w, "Count",
                 "MACs");
  for (const OpTypeCount& c : st.op_types) {
    fmt::format_to(std::back_inserter(out), "{:<{}}  {:>6}  {:>10}\n", c.op_type, w, c.count,
                   si_count(c.macs));
  }
}

void append_nodes(const ModelStats& st, std::string& out) {
  std::vector<std::string> names, ops, shapes;
  for (const NodeStats& n : st.nodes) {
    names.push_back(n.name);
    ops.push_back(n.op_type);
    std::vector<std::string> outs;
    for (const ValueStats& v : n.outputs) outs.push_back(v.info.str());
    shapes.push_back(join(outs, "; "));
  }
  const size_t wn = column_width(names, 4, 48), wo = column_width(ops, 7, 24),
               ws = column_width(shapes, 13, 40);
  const std::string fmt_row = "{:>5}  {:<{}}  {:<{}}  {:<{}}  {:>10}  {:>10}\n";
  fmt::format_to(std::back_inserter(out), fmt::runtime("\n" + fmt_row), "#", "Node", wn, "Op type",
                 wo, "Output shapes", ws, "Params", "MACs");
  for (size_t i = 0; i < st.nodes.size(); ++i) {
    const NodeStats& n = st.nodes[i];
    fmt::format_to(std::back_inserter(out), fmt::runtime(fmt_row), i, names[i], wn, ops[i], wo,
                   shapes[i], ws, si_count(n.params), n.macs_known ? si_count(n.macs) : "?");
  }
  std::vector<std::string> mac_ops;
  for (std::string_view op : mac_op_types()) mac_ops.emplace_back(op);
  fmt::format_to(std::back_inserter(out),
                 "\nMACs (1 multiply-add = 1) are counted for {}; other ops count 0. "
                 "See docs/inspect.md.\n",
                 join(mac_ops, ", "));
}

}  // namespace

std::string to_table(const ModelStats& st) {
  std::string out;
  append_header(st, out);
  append_op_types(st, out);
  append_nodes(st, out);
  return out;
}

}  // namespace hone::analysis

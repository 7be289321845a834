// Einsum: output[out-term] = sum over the labels not in out-term of prod_k input_k[term_k],
// with numpy.einsum's rules (the ONNX test reference): "..." broadcasts right-aligned, a label
// repeated within a term takes a diagonal, dims of size 1 broadcast, and the implicit output
// is the ellipsis dims followed by the labels used exactly once, in ASCII order.
// Naive on purpose: one loop over every combination of label values.
#include "runtime/reference/kernels/reduce_groups.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

namespace hone::runtime::reference::kernels {

namespace {
using namespace reduction;

constexpr int kNumLetters = 52;  // label ids: a-z = 0..25, A-Z = 26..51, ellipsis dims after

int letter_id(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return 26 + (c - 'A');
  return -1;
}
char letter_of(int id) { return static_cast<char>(id < 26 ? 'a' + id : 'A' + (id - 26)); }

// One term of the equation: its letter ids, and where its "..." stands (if any).
struct Term {
  std::vector<int> letters;
  bool has_ellipsis = false;
  size_t ellipsis_at = 0;  // number of letters before the ellipsis
};

Term parse_term(std::string_view s) {
  Term t;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.substr(i, 3) == "...") {
      if (t.has_ellipsis) throw bad_input("einsum term '{}' has more than one ellipsis", s);
      t.has_ellipsis = true;
      t.ellipsis_at = t.letters.size();
      i += 2;
    } else if (letter_id(s[i]) >= 0) {
      t.letters.push_back(letter_id(s[i]));
    } else {
      throw bad_input("einsum term '{}' has an invalid character '{}'", s, s[i]);
    }
  }
  return t;
}

// The term's label per dimension; its e ellipsis dims are the last e of the E shared ones.
std::vector<int> expand(const Term& t, int64_t e, int64_t total_e) {
  std::vector<int> labels(t.letters.begin(), t.letters.begin() + std::ptrdiff_t(t.ellipsis_at));
  for (int64_t j = 0; j < e; ++j) labels.push_back(kNumLetters + int(total_e - e + j));
  labels.insert(labels.end(), t.letters.begin() + std::ptrdiff_t(t.ellipsis_at), t.letters.end());
  return labels;
}

struct EinsumPlan {
  std::vector<std::vector<int>> inputs;  // label per dim of each input
  std::vector<int> output;               // label per dim of the output
  std::vector<int64_t> sizes;            // per label id; 0 for an unused label is harmless
};

std::vector<int> implicit_output(const std::vector<std::vector<int>>& inputs, int64_t total_e) {
  std::vector<int> out;
  for (int64_t j = 0; j < total_e; ++j) out.push_back(kNumLetters + int(j));
  std::vector<int> count(kNumLetters, 0);
  for (const auto& labels : inputs) {
    for (int l : labels) if (l < kNumLetters) ++count[size_t(l)];
  }
  std::vector<int> once;
  for (int l = 0; l < kNumLetters; ++l) if (count[size_t(l)] == 1) once.push_back(l);
  std::sort(once.begin(), once.end(), [](int a, int b) { return letter_of(a) < letter_of(b); });
  out.insert(out.end(), once.begin(), once.end());
  return out;
}

std::vector<int> explicit_output(std::string_view rhs, const std::vector<std::vector<int>>& inputs,
                                 int64_t total_e) {
  const Term t = parse_term(rhs);
  if (!t.has_ellipsis && total_e > 0) {
    throw bad_input("einsum output '{}' needs '...' for the inputs' broadcast dims", rhs);
  }
  std::vector<int> out = expand(t, t.has_ellipsis ? total_e : 0, total_e);
  for (size_t i = 0; i < t.letters.size(); ++i) {
    const int l = t.letters[i];
    if (std::count(t.letters.begin(), t.letters.end(), l) > 1) {
      throw bad_input("einsum output label '{}' appears twice", letter_of(l));
    }
    const bool used = std::any_of(inputs.begin(), inputs.end(), [l](const std::vector<int>& in) {
      return std::find(in.begin(), in.end(), l) != in.end();
    });
    if (!used) throw bad_input("einsum output label '{}' is not in any input", letter_of(l));
  }
  return out;
}

// Every label's size: equal across its dims, or 1 (broadcast), as numpy allows.
std::vector<int64_t> label_sizes(const EinsumPlan& p, const std::vector<const ir::Tensor*>& xs,
                                 int64_t total_e) {
  std::vector<int64_t> sizes(size_t(kNumLetters + total_e), 1);
  std::vector<bool> seen(sizes.size(), false);
  for (size_t k = 0; k < xs.size(); ++k) {
    for (size_t d = 0; d < p.inputs[k].size(); ++d) {
      const size_t l = size_t(p.inputs[k][d]);
      const int64_t n = xs[k]->shape()[d];
      if (!seen[l] || sizes[l] == 1) sizes[l] = n;
      else if (n != 1 && n != sizes[l]) {
        throw bad_input("einsum dimension {} of input {} has size {}, elsewhere {}", d, k, n, sizes[l]);
      }
      seen[l] = true;
    }
  }
  return sizes;
}

EinsumPlan plan_einsum(std::string equation, const std::vector<const ir::Tensor*>& xs) {
  equation.erase(std::remove(equation.begin(), equation.end(), ' '), equation.end());
  const size_t arrow = equation.find("->");
  const std::string lhs = equation.substr(0, arrow);
  std::vector<Term> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    terms.push_back(parse_term(std::string_view(lhs).substr(start, comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != xs.size()) {
    throw bad_input("einsum equation has {} terms for {} inputs", terms.size(), xs.size());
  }
  std::vector<int64_t> e(xs.size());
  for (size_t k = 0; k < xs.size(); ++k) {
    e[k] = int64_t(xs[k]->rank()) - int64_t(terms[k].letters.size());
    if (e[k] < 0 || (!terms[k].has_ellipsis && e[k] != 0)) {
      throw bad_input("einsum term {} has {} labels for an input of rank {}", k,
                      terms[k].letters.size(), xs[k]->rank());
    }
  }
  const int64_t total_e = xs.empty() ? 0 : *std::max_element(e.begin(), e.end());
  EinsumPlan p;
  for (size_t k = 0; k < xs.size(); ++k) p.inputs.push_back(expand(terms[k], e[k], total_e));
  p.output = arrow == std::string::npos
                 ? implicit_output(p.inputs, total_e)
                 : explicit_output(std::string_view(equation).substr(arrow + 2), p.inputs, total_e);
  p.sizes = label_sizes(p, xs, total_e);
  return p;
}

// Element stride of each label in a tensor with these dims' labels (summed over a repeated
// label: the diagonal; 0 where the dim has size 1 and broadcasts).
std::vector<int64_t> label_strides(const std::vector<int>& labels, const ir::Shape& shape,
                                   size_t num_labels) {
  std::vector<int64_t> strides(num_labels, 0);
  if (ir::checked_numel(shape) == 0) return strides;
  const std::vector<int64_t> cs = contiguous_strides(shape);
  for (size_t d = 0; d < labels.size(); ++d) {
    if (shape[d] != 1) strides[size_t(labels[d])] += cs[d];
  }
  return strides;
}

// sum over every combination of label values of prod_k x_k, accumulated into the output.
template <typename C>
std::vector<C> evaluate(const EinsumPlan& p, const std::vector<std::vector<C>>& xs,
                        const std::vector<const ir::Tensor*>& tensors, const ir::Shape& out_shape) {
  const size_t num_labels = p.sizes.size();
  std::vector<std::vector<int64_t>> strides;  // inputs, then the output
  for (size_t k = 0; k < xs.size(); ++k) {
    strides.push_back(label_strides(p.inputs[k], tensors[k]->shape(), num_labels));
  }
  strides.push_back(label_strides(p.output, out_shape, num_labels));
  std::vector<Acc<C>> acc(static_cast<size_t>(ir::checked_numel(out_shape)), Acc<C>{});
  // Bound the work a file can ask for: the loop runs prod(label sizes) times.
  const int64_t steps = ir::checked_numel(p.sizes);
  std::vector<size_t> active;  // labels of size > 1: the only ones the loop must step
  for (size_t l = 0; l < num_labels; ++l) if (p.sizes[l] > 1) active.push_back(l);
  std::vector<int64_t> index(num_labels, 0), offset(strides.size(), 0);
  for (int64_t s = 0; s < steps; ++s) {
    Acc<C> term = 1;
    for (size_t k = 0; k < xs.size(); ++k) term = mul<Acc<C>>(term, Acc<C>(xs[k][size_t(offset[k])]));
    acc[size_t(offset.back())] = add<Acc<C>>(acc[size_t(offset.back())], term);
    for (size_t i = active.size(); i-- > 0;) {  // odometer step over the active labels
      const size_t l = active[i];
      for (size_t k = 0; k < offset.size(); ++k) offset[k] += strides[k][l];
      if (++index[l] < p.sizes[l]) break;
      for (size_t k = 0; k < offset.size(); ++k) offset[k] -= strides[k][l] * p.sizes[l];
      index[l] = 0;
    }
  }
  return std::vector<C>(acc.begin(), acc.end());
}
}  // namespace

void check_Einsum(const KernelInfo& info) {
  for (size_t k = 0; k < info.input_dtypes.size(); ++k) require_dtype(info, k, kNumericTypes);
  if (info.node.attr_string("equation", "").empty()) throw bad_input("Einsum needs an equation");
}

void run_Einsum(KernelArgs& a) {
  std::vector<const ir::Tensor*> xs;
  for (size_t k = 0; k < a.num_inputs(); ++k) {
    xs.push_back(&a.in(k));
    require_dtype(*xs.back(), "input", kNumericTypes);
    if (xs.back()->dtype() != xs.front()->dtype()) throw bad_input("Einsum inputs differ in dtype");
  }
  if (xs.empty()) throw bad_input("Einsum needs at least one input");
  const EinsumPlan p = plan_einsum(a.node.attr_string("equation", ""), xs);
  ir::Shape out_shape;
  for (int l : p.output) out_shape.push_back(p.sizes[size_t(l)]);
  visit_numeric(xs.front()->dtype(), [&]<typename T>() {
    using C = Compute<T>;
    std::vector<std::vector<C>> values;
    for (const ir::Tensor* x : xs) values.push_back(load<T>(*x));
    a.outputs[0] = store<T>(evaluate<C>(p, values, xs, out_shape), out_shape);
  });
}

}  // namespace hone::runtime::reference::kernels

// Spike for the fast-runtime issue (not built by CMake): the 20 convolutions of ResNet-18 at batch 1
// with oneDNN, blocked layouts (format any, as a layout-propagating runtime would chain them) or
// plain NCHW, fused ReLU; prints per-layer median, total, GFLOP/s and operator-new calls per
// execute (a counting operator new; the timed loop calls the C API dnnl_primitive_execute).
//   g++ -O2 -std=c++17 scripts/spikes/dnnl_resnet_convs.cpp -o /tmp/dnnl_convs -ldnnl -fopenmp
//   /tmp/dnnl_convs b 1    (b = blocked, n = nchw; then the thread count)
#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <vector>
#include <algorithm>
static std::atomic<long> g_news{0};
void* operator new(size_t n) { ++g_news; void* p = std::malloc(n ? n : 1); if (!p) throw std::bad_alloc(); return p; }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
using namespace dnnl;
struct L { int ic, oc, k, s, p, h; };  // input h=w
int main(int argc, char** argv) {
  bool blocked = argc > 1 && argv[1][0] == 'b';
  omp_set_num_threads(argc > 2 ? atoi(argv[2]) : 1);
  engine eng(engine::kind::cpu, 0); stream st(eng);
  std::vector<L> ls = {{3,64,7,2,3,224}};
  for (int i=0;i<4;++i) ls.push_back({64,64,3,1,1,56});
  ls.push_back({64,128,3,2,1,56}); ls.push_back({64,128,1,2,0,56}); for(int i=0;i<3;++i) ls.push_back({128,128,3,1,1,28});
  ls.push_back({128,256,3,2,1,28}); ls.push_back({128,256,1,2,0,28}); for(int i=0;i<3;++i) ls.push_back({256,256,3,1,1,14});
  ls.push_back({256,512,3,2,1,14}); ls.push_back({256,512,1,2,0,14}); for(int i=0;i<3;++i) ls.push_back({512,512,3,1,1,7});
  double total = 0; long news = 0; double flops = 0;
  for (auto& l : ls) {
    int oh = (l.h + 2*l.p - l.k)/l.s + 1;
    memory::dims src{1,l.ic,l.h,l.h}, wei{l.oc,l.ic,l.k,l.k}, dst{1,l.oc,oh,oh}, bia{l.oc};
    auto tag = blocked ? memory::format_tag::any : memory::format_tag::nchw;
    auto sd = memory::desc(src, memory::data_type::f32, l.ic == 3 ? memory::format_tag::nchw : tag);
    auto dd = memory::desc(dst, memory::data_type::f32, tag);
    auto wd = memory::desc(wei, memory::data_type::f32, memory::format_tag::any);
    auto bd = memory::desc(bia, memory::data_type::f32, memory::format_tag::x);
    post_ops po; po.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
    primitive_attr attr; attr.set_post_ops(po); attr.set_scratchpad_mode(scratchpad_mode::user);
    auto d = convolution_forward::desc(prop_kind::forward_inference, algorithm::convolution_direct, sd, wd, bd, dd, {l.s,l.s}, {l.p,l.p}, {l.p,l.p});
    auto pd = convolution_forward::primitive_desc(d, attr, eng);
    convolution_forward conv(pd);
    memory sm(pd.src_desc(), eng), wm(pd.weights_desc(), eng), bm(pd.bias_desc(), eng), dm(pd.dst_desc(), eng), sp(pd.scratchpad_desc(), eng);
    std::fill((float*)sm.get_data_handle(), (float*)sm.get_data_handle() + pd.src_desc().get_size()/4, 0.5f);
    std::fill((float*)wm.get_data_handle(), (float*)wm.get_data_handle() + pd.weights_desc().get_size()/4, 0.01f);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, sm},{DNNL_ARG_WEIGHTS, wm},{DNNL_ARG_BIAS, bm},{DNNL_ARG_DST, dm},{DNNL_ARG_SCRATCHPAD, sp}};
    std::vector<dnnl_exec_arg_t> cargs; for (auto& [k, m] : args) cargs.push_back({k, m.get()});
    for (int i=0;i<5;++i) conv.execute(st, args);
    st.wait();
    std::vector<double> t;
    long before = g_news;
    for (int i=0;i<30;++i) { auto a = std::chrono::steady_clock::now(); dnnl_primitive_execute(conv.get(), st.get(), (int)cargs.size(), cargs.data()); st.wait(); t.push_back(std::chrono::duration<double,std::milli>(std::chrono::steady_clock::now()-a).count()); }
    news += g_news - before;
    std::sort(t.begin(), t.end()); total += t[15];
    flops += 2.0*l.oc*l.ic*l.k*l.k*oh*oh;
    printf("%3d->%3d k%d s%d %3d: %.3f ms  %s\n", l.ic, l.oc, l.k, l.s, l.h, t[15], pd.impl_info_str());
  }
  printf("%s total conv %.2f ms, %.1f GFLOP/s, allocations per execute: %.1f\n", blocked?"blocked":"nchw", total, flops/total/1e6, news/30.0/ls.size());
}

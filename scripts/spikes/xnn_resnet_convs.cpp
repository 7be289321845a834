// Spike for the fast-runtime issue (not built by CMake): the same 20 ResNet-18 convolutions with
// XNNPACK (Debian libxnnpack-dev 0.0~git20220216 + libpthreadpool-dev), NHWC f32, batch 1.
//   g++ -O2 -std=c++17 scripts/spikes/xnn_resnet_convs.cpp -o /tmp/xnn_convs -lXNNPACK -lpthreadpool \
//       /usr/lib/x86_64-linux-gnu/libcpuinfo.so.0 && /tmp/xnn_convs 1
#include <xnnpack.h>

#include <chrono>
#include <cstdio>
#include <cmath>
#include <cstdlib>
#include <vector>
#include <algorithm>
struct L { int ic, oc, k, s, p, h; };
int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  if (xnn_initialize(nullptr) != xnn_status_success) { puts("init failed"); return 1; }
  pthreadpool_t pool = threads > 1 ? pthreadpool_create(threads) : nullptr;
  std::vector<L> ls = {{3,64,7,2,3,224}};
  for (int i=0;i<4;++i) ls.push_back({64,64,3,1,1,56});
  ls.push_back({64,128,3,2,1,56}); ls.push_back({64,128,1,2,0,56}); for(int i=0;i<3;++i) ls.push_back({128,128,3,1,1,28});
  ls.push_back({128,256,3,2,1,28}); ls.push_back({128,256,1,2,0,28}); for(int i=0;i<3;++i) ls.push_back({256,256,3,1,1,14});
  ls.push_back({256,512,3,2,1,14}); ls.push_back({256,512,1,2,0,14}); for(int i=0;i<3;++i) ls.push_back({512,512,3,1,1,7});
  double total = 0, flops = 0;
  for (auto& l : ls) {
    int oh = (l.h + 2*l.p - l.k)/l.s + 1;
    std::vector<float> w((size_t)l.oc*l.ic*l.k*l.k, 0.01f), b(l.oc, 0.f), x((size_t)l.h*l.h*l.ic, 0.5f), y((size_t)oh*oh*l.oc);
    xnn_operator_t op = nullptr;
    if (xnn_create_convolution2d_nhwc_f32(l.p,l.p,l.p,l.p,l.k,l.k,l.s,l.s,1,1,1,l.ic,l.oc,l.ic,l.oc,w.data(),b.data(),0.f,INFINITY,0,&op) != xnn_status_success) { puts("create failed"); return 1; }
    xnn_setup_convolution2d_nhwc_f32(op, 1, l.h, l.h, x.data(), y.data(), pool);
    for (int i=0;i<5;++i) xnn_run_operator(op, pool);
    std::vector<double> t;
    for (int i=0;i<30;++i) { auto a = std::chrono::steady_clock::now(); xnn_run_operator(op, pool); t.push_back(std::chrono::duration<double,std::milli>(std::chrono::steady_clock::now()-a).count()); }
    std::sort(t.begin(), t.end()); total += t[15]; flops += 2.0*l.oc*l.ic*l.k*l.k*oh*oh;
    xnn_delete_operator(op);
  }
  printf("xnnpack total conv %.2f ms, %.1f GFLOP/s (%d threads)\n", total, flops/total/1e6, threads);
}

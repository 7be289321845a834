// Spike for the 2:4 kernel (not built by CMake): the inner loop of sparse:conv_2of4 on its own,
// synthetic records, acc rows and X in L1. Prints useful GMAC/s (2 MACs per record and pixel
// for one group per acc update, 4 for two groups).
//   g++ -O3 -std=c++20 -march=znver3 -mavx512f -mavx512vl scripts/spikes/nm_loop.cpp -o /tmp/nm_loop && /tmp/nm_loop
// Measured on the 2-core AMD EPYC (Zen 4) of docs/performance.md: six pairs 37.7-39.1 GMAC/s, one
// pair (no branch misses) 38.1-39.5, two groups per acc update 26.7-28.9; the core's AVX-512 FMA
// peak, which XNNPACK's dense convolution nearly reaches, is ~57.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

using vf = float __attribute__((vector_size(64)));

struct R1 { uint32_t acc; float wa, wb; };
struct R2 { uint32_t acc; float w[4]; };
constexpr int PA[6] = {0, 0, 0, 1, 1, 2}, PB[6] = {1, 2, 3, 2, 3, 3};

// One group (4 X rows) per acc update, records sorted into the six pairs.
__attribute__((noinline)) void one_group(const R1* rec, const uint32_t* off, size_t units, const float* x, float* acc) {
  for (size_t u = 0; u < units; ++u, off += 6) {
    vf r[4][4];
    for (int a = 0; a < 4; ++a) std::memcpy(r[a], x + a * 64, 256);
#define PAIR(P, A, B)                                                                 \
  for (const R1 *e = rec + off[P], *end = rec + off[P + 1]; e != end; ++e) {          \
    vf* y = reinterpret_cast<vf*>(acc + e->acc);                                      \
    for (int q = 0; q < 4; ++q) {                                                     \
      vf v = y[q];                                                                    \
      v += e->wa * r[A][q];                                                           \
      v += e->wb * r[B][q];                                                           \
      y[q] = v;                                                                       \
    }                                                                                 \
  }
    PAIR(0, 0, 1) PAIR(1, 0, 2) PAIR(2, 0, 3) PAIR(3, 1, 2) PAIR(4, 1, 3) PAIR(5, 2, 3)
#undef PAIR
  }
}

// Two groups (8 X rows) per acc update: 36 pair combinations.
template <int A, int B, int C, int D>
inline void combo(const R2* e, const R2* end, const vf (&r)[8][4], float* acc) {
  for (; e != end; ++e) {
    vf* y = reinterpret_cast<vf*>(acc + e->acc);
    for (int q = 0; q < 4; ++q) {
      vf v = y[q];
      v += e->w[0] * r[A][q];
      v += e->w[1] * r[B][q];
      v += e->w[2] * r[4 + C][q];
      v += e->w[3] * r[4 + D][q];
      y[q] = v;
    }
  }
}
template <int I>
inline void combos(const R2* rec, const uint32_t* off, const vf (&r)[8][4], float* acc) {
  if constexpr (I < 36) {
    combo<PA[I / 6], PB[I / 6], PA[I % 6], PB[I % 6]>(rec + off[I], rec + off[I + 1], r, acc);
    combos<I + 1>(rec, off, r, acc);
  }
}
__attribute__((noinline)) void two_groups(const R2* rec, const uint32_t* off, size_t units, const float* x, float* acc) {
  for (size_t u = 0; u < units; ++u, off += 36) {
    vf r[8][4];
    for (int a = 0; a < 8; ++a) std::memcpy(r[a], x + a * 64, 256);
    combos<0>(rec, off, r, acc);
  }
}

template <class F>
void time(const char* what, double macs, F f) {
  for (int it = 0; it < 3; ++it) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%s: %.1f GMAC/s\n", what, macs / ns);
  }
}

int main() {
  std::mt19937 rng(1);
  alignas(64) static float x[8 * 64], acc[128 * 64];
  for (auto& v : x) v = 1e-3f;
  const size_t units = 2000, reps = 20;
  for (const bool one_pair : {false, true}) {
    const size_t M = 64;
    std::vector<R1> rec;
    std::vector<uint32_t> off;
    for (size_t u = 0; u < units; ++u) {
      std::vector<R1> p[6];
      for (size_t m = 0; m < M; ++m) p[one_pair ? 0 : rng() % 6].push_back({uint32_t(m * 64), 0.5f, 0.25f});
      for (auto& q : p) off.push_back(uint32_t(rec.size())), rec.insert(rec.end(), q.begin(), q.end());
    }
    off.push_back(uint32_t(rec.size()));
    time(one_pair ? "one group per update, one pair" : "one group per update, six pairs", double(reps * units * M) * 2 * 64,
         [&] { for (size_t k = 0; k < reps; ++k) one_group(rec.data(), off.data(), units, x, acc); });
  }
  for (const size_t M : {64, 128}) {
    std::vector<R2> rec;
    std::vector<uint32_t> off;
    for (size_t u = 0; u < units / 2; ++u) {
      std::vector<R2> p[36];
      for (size_t m = 0; m < M; ++m) p[rng() % 36].push_back({uint32_t(m * 64), {0.5f, 0.25f, 0.1f, 0.2f}});
      for (auto& q : p) off.push_back(uint32_t(rec.size())), rec.insert(rec.end(), q.begin(), q.end());
    }
    off.push_back(uint32_t(rec.size()));
    char what[64];
    std::snprintf(what, sizeof what, "two groups per update, %zu channels", M);
    time(what, double(reps * units / 2 * M) * 4 * 64, [&] { for (size_t k = 0; k < reps; ++k) two_groups(rec.data(), off.data(), units / 2, x, acc); });
  }
  std::printf("(checksum %g)\n", double(acc[5]));
}

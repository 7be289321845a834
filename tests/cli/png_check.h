// Reads a PNG screenshot (8-bit RGB or RGBA, not interlaced: what Chromium writes) into pixels,
// so a test can check what a page looked like, not only that a file appeared.
#pragma once

#include <fmt/format.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace hone::test {

struct Image {
  std::string problem;  // "" when the file decoded
  uint32_t width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;  // rows of width * channels bytes

  // Pixels whose RGB equals "#rrggbb" exactly.
  size_t count_color(const std::string& hex) const {
    const auto v = std::strtoul(hex.c_str() + 1, nullptr, 16);
    const uint8_t r = (v >> 16) & 255, g = (v >> 8) & 255, b = v & 255;
    size_t n = 0;
    for (size_t i = 0; i + channels <= pixels.size(); i += channels) {
      n += pixels[i] == r && pixels[i + 1] == g && pixels[i + 2] == b;
    }
    return n;
  }
};

inline Image read_png(const std::filesystem::path& path) {
  Image img;
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> f((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto be32 = [&](size_t at) {
    return (uint32_t(f[at]) << 24) | (uint32_t(f[at + 1]) << 16) | (uint32_t(f[at + 2]) << 8) | f[at + 3];
  };
  static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (f.size() < 33 || !std::equal(sig, sig + 8, f.begin())) return {"not a PNG file"};
  std::vector<uint8_t> idat;
  uint8_t depth = 0, color = 0, interlace = 0;
  for (size_t at = 8; at + 12 <= f.size();) {
    const uint32_t len = be32(at);
    const std::string type(f.begin() + static_cast<long>(at) + 4, f.begin() + static_cast<long>(at) + 8);
    if (at + 12 + len > f.size()) return {"truncated chunk " + type};
    const uint8_t* data = f.data() + at + 8;
    if (type == "IHDR") {
      img.width = be32(at + 8);
      img.height = be32(at + 12);
      depth = data[8];
      color = data[9];
      interlace = data[12];
    } else if (type == "IDAT") {
      idat.insert(idat.end(), data, data + len);
    }
    at += 12 + len;
  }
  if (depth != 8 || (color != 2 && color != 6) || interlace != 0) {
    return {fmt::format("unsupported PNG: depth {} colour type {} interlace {}", depth, color, interlace)};
  }
  img.channels = color == 6 ? 4 : 3;
  const size_t stride = size_t(img.width) * img.channels;
  std::vector<uint8_t> raw((stride + 1) * img.height);
  uLongf raw_len = raw.size();
  if (uncompress(raw.data(), &raw_len, idat.data(), idat.size()) != Z_OK || raw_len != raw.size()) {
    return {"bad image data"};
  }
  // Undo the per-row filters (PNG spec, section 9).
  img.pixels.assign(stride * img.height, 0);
  const size_t bpp = img.channels;
  for (size_t y = 0; y < img.height; ++y) {
    const uint8_t filter = raw[y * (stride + 1)];
    const uint8_t* src = raw.data() + y * (stride + 1) + 1;
    uint8_t* row = img.pixels.data() + y * stride;
    const uint8_t* up = y ? row - stride : nullptr;
    for (size_t x = 0; x < stride; ++x) {
      const int a = x >= bpp ? row[x - bpp] : 0, b = up ? up[x] : 0, c = up && x >= bpp ? up[x - bpp] : 0;
      int pred = 0;
      switch (filter) {
        case 0: pred = 0; break;
        case 1: pred = a; break;
        case 2: pred = b; break;
        case 3: pred = (a + b) / 2; break;
        case 4: {
          const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
          pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: return {fmt::format("bad filter {} in row {}", filter, y)};
      }
      row[x] = static_cast<uint8_t>(src[x] + pred);
    }
  }
  return img;
}

}  // namespace hone::test

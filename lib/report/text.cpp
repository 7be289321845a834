#include "report/text.h"

#include <array>

namespace hone::report {

// Decodes the code point at s[i] and returns its byte length; a malformed sequence yields
// U+FFFD for one byte, so output stays valid UTF-8 whatever the input.
size_t utf8_next(std::string_view s, size_t i, char32_t& cp) {
  const auto b = static_cast<unsigned char>(s[i]);
  const size_t len = b < 0x80           ? 1
                     : (b >> 5) == 0x6  ? 2
                     : (b >> 4) == 0xE  ? 3
                     : (b >> 3) == 0x1E ? 4
                                        : 0;
  cp = len == 1 ? b : 0xFFFD;
  if (len <= 1 || i + len > s.size()) return 1;
  char32_t v = b & (0x7Fu >> len);
  for (size_t k = 1; k < len; ++k) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) return 1;
    v = (v << 6) | (c & 0x3F);
  }
  static constexpr std::array<char32_t, 5> kMin = {0, 0, 0x80, 0x800, 0x10000};
  if (v < kMin[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 1;
  cp = v;
  return len;
}

// XML-escaped text; characters XML 1.0 forbids (most controls) become spaces.
std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const size_t n = utf8_next(s, i, cp);
    switch (cp) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if ((cp < 0x20 && cp != '\t' && cp != '\n') || cp == 0xFFFE || cp == 0xFFFF)
          out += ' ';
        else if (cp == 0xFFFD && n == 1)
          out += "\xEF\xBF\xBD";
        else
          out.append(s.substr(i, n));
    }
    i += n;
  }
  return out;
}

size_t code_points(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++n) {
    char32_t cp = 0;
    i += utf8_next(s, i, cp);
  }
  return n;
}

}  // namespace hone::report

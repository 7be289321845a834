// Text from user files (labels, class and node names) on its way into XML, HTML and tables:
// decoded leniently, escaped strictly, so whatever bytes a file holds the output stays valid.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace hone::report {

// Decodes the code point at s[i] into `cp` and returns its byte length; a malformed sequence
// yields U+FFFD for one byte, so output stays valid UTF-8 whatever the input.
size_t utf8_next(std::string_view s, size_t i, char32_t& cp);

// Escapes & < > " ' for XML/HTML text and attribute values; characters XML 1.0 forbids (most
// controls) become spaces and malformed UTF-8 becomes U+FFFD.
std::string xml_escape(std::string_view s);

// Length in code points (for aligning columns of text that holds "±" or "→").
size_t code_points(std::string_view s);

}  // namespace hone::report

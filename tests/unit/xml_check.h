// A small XML well-formedness checker for tests of generated XML/SVG: enough of XML 1.0 to catch
// what a generator gets wrong (unbalanced tags, unquoted or duplicate attributes, stray '<' or
// '&', bad entity references), without a parser dependency. No DTDs, no namespace checks.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace hone::test {

namespace xml_detail {

inline bool name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         static_cast<unsigned char>(c) >= 0x80;
}
inline bool name_char(char c) {
  return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}
inline bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Length of the entity reference at s[i] == '&' including the ';', or 0 if it is not one of the
// five predefined entities or a numeric character reference.
inline size_t entity_len(std::string_view s, size_t i) {
  const size_t semi = s.find(';', i);
  if (semi == std::string_view::npos || semi - i > 12) return 0;
  const std::string_view body = s.substr(i + 1, semi - i - 1);
  for (const std::string_view e : {"amp", "lt", "gt", "quot", "apos"})
    if (body == e) return semi - i + 1;
  if (body.size() < 2 || body[0] != '#') return 0;
  const bool hex = body[1] == 'x';
  const std::string_view digits = body.substr(hex ? 2 : 1);
  if (digits.empty()) return 0;
  for (const char c : digits) {
    const bool ok =
        (c >= '0' && c <= '9') || (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
    if (!ok) return 0;
  }
  return semi - i + 1;
}

}  // namespace xml_detail

// Returns "" if `text` is one well-formed XML element (optionally preceded by an XML declaration,
// comments and whitespace), else a message with the byte offset of the problem. Checks: tags
// balanced and properly nested, attribute values quoted, no duplicate attributes per element,
// entity references predefined or numeric, no raw '<' or '&' in text or attribute values,
// exactly one root element.
inline std::string xml_problem(std::string_view text) {
  using namespace xml_detail;
  const size_t n = text.size();
  size_t i = 0;
  const auto fail = [&](const std::string& what) {
    return "offset " + std::to_string(i) + ": " + what;
  };
  const auto starts = [&](std::string_view p) { return text.substr(i, p.size()) == p; };
  const auto read_name = [&] {
    const size_t b = i;
    if (i < n && name_start(text[i]))
      while (i < n && name_char(text[i])) ++i;
    return text.substr(b, i - b);
  };
  // Skips a construct from `from` to `to`; false if it never closes.
  const auto skip = [&](std::string_view from, std::string_view to) {
    const size_t end = text.find(to, i + from.size());
    if (end == std::string_view::npos) return false;
    i = end + to.size();
    return true;
  };

  if (starts("<?xml") && !skip("<?xml", "?>")) return fail("unterminated XML declaration");
  std::vector<std::string_view> open;
  bool root_seen = false;
  while (i < n) {
    const char c = text[i];
    if (open.empty() && space(c)) {
      ++i;
    } else if (starts("<!--")) {
      if (!skip("<!--", "-->")) return fail("unterminated comment");
    } else if (starts("<![CDATA[")) {
      if (open.empty()) return fail("CDATA outside the root element");
      if (!skip("<![CDATA[", "]]>")) return fail("unterminated CDATA section");
    } else if (starts("<?")) {
      if (!skip("<?", "?>")) return fail("unterminated processing instruction");
    } else if (starts("</")) {
      const size_t at = i;
      i += 2;
      const std::string_view name = read_name();
      while (i < n && space(text[i])) ++i;
      if (i >= n || text[i] != '>') return fail("malformed end tag");
      if (open.empty() || open.back() != name) {
        i = at;  // report where the end tag starts
        return fail("end tag </" + std::string(name) + "> does not match " +
                    (open.empty() ? std::string("any open element")
                                  : "<" + std::string(open.back()) + ">"));
      }
      open.pop_back();
      ++i;
    } else if (c == '<') {
      if (open.empty() && root_seen) return fail("second root element");
      root_seen = true;
      ++i;
      const std::string_view name = read_name();
      if (name.empty()) return fail("raw '<' or missing element name");
      std::set<std::string_view> attrs;
      while (true) {
        const size_t before = i;
        while (i < n && space(text[i])) ++i;
        if (i >= n) return fail("unterminated start tag <" + std::string(name) + ">");
        if (text[i] == '>') {
          open.push_back(name), ++i;
          break;
        }
        if (starts("/>")) {
          i += 2;
          break;
        }
        if (i == before) return fail("missing whitespace before attribute");
        const std::string_view attr = read_name();
        if (attr.empty()) return fail("bad attribute name in <" + std::string(name) + ">");
        if (!attrs.insert(attr).second) return fail("duplicate attribute " + std::string(attr));
        while (i < n && space(text[i])) ++i;
        if (i >= n || text[i] != '=')
          return fail("attribute " + std::string(attr) + " has no value");
        ++i;
        while (i < n && space(text[i])) ++i;
        if (i >= n || (text[i] != '"' && text[i] != '\'')) return fail("unquoted attribute value");
        const char quote = text[i++];
        while (i < n && text[i] != quote) {
          if (text[i] == '<') return fail("raw '<' in attribute value");
          if (text[i] == '&') {
            const size_t len = entity_len(text, i);
            if (len == 0) return fail("bad entity reference");
            i += len;
          } else {
            ++i;
          }
        }
        if (i >= n) return fail("unterminated attribute value");
        ++i;
      }
    } else if (open.empty()) {
      return fail(root_seen ? "content after the root element" : "content before the root element");
    } else if (c == '&') {
      const size_t len = entity_len(text, i);
      if (len == 0) return fail("bad entity reference");
      i += len;
    } else {
      ++i;
    }
  }
  if (!open.empty()) return fail("unclosed element <" + std::string(open.back()) + ">");
  if (!root_seen) return fail("no root element");
  return "";
}

}  // namespace hone::test

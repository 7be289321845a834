#include "report/document.h"

#include "report/text.h"

#include <fmt/format.h>

#include <cctype>

namespace hone::report {

Block Block::heading(int level, std::string text) {
  Block b;
  b.kind = Kind::Heading;
  b.level = level;
  b.text = std::move(text);
  return b;
}
Block Block::paragraph(std::string text) {
  Block b;
  b.text = std::move(text);
  return b;
}
Block Block::bullets(std::vector<std::string> items) {
  Block b;
  b.kind = Kind::Bullets;
  b.items = std::move(items);
  return b;
}
Block Block::table_of(Table t) {
  Block b;
  b.kind = Kind::Table;
  b.table = std::move(t);
  return b;
}
Block Block::chart(std::string id, std::string alt, std::string svg) {
  Block b;
  b.kind = Kind::Chart;
  b.id = std::move(id);
  b.text = std::move(alt);
  b.svg = std::move(svg);
  return b;
}
Block Block::code(std::string body) {
  Block b;
  b.kind = Kind::Code;
  b.text = std::move(body);
  return b;
}
Block Block::details(std::string summary, std::vector<Block> children) {
  Block b;
  b.kind = Kind::Details;
  b.text = std::move(summary);
  b.children = std::move(children);
  return b;
}

namespace {

// ---- Markdown ------------------------------------------------------------------------------

// Outside code spans: characters Markdown would read as markup or HTML become escapes, so a
// file or class name like "a_b*c<d>" shows as written. Inside a table, '|' ends a cell.
std::string md_text(std::string_view s, bool in_table) {
  std::string out;
  bool code = false;
  auto alnum = [&](size_t i) { return i < s.size() && std::isalnum(static_cast<unsigned char>(s[i])); };
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    // An underscore inside a word (fold_batch_norm, x86_64) is never emphasis on a forge.
    if (c == '_' && !code && i > 0 && alnum(i - 1) && alnum(i + 1)) {
      out += c;
      continue;
    }
    if (c == '`') {
      code = !code;
      out += c;
      continue;
    }
    if (in_table && c == '|') {
      out += "\\|";
      continue;
    }
    if (code) {
      out += c;
      continue;
    }
    switch (c) {
      case '*': case '_': case '[': case ']': case '\\': case '#':
        out += '\\';
        out += c;
        break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '\n': out += in_table ? ' ' : '\n'; break;
      default: out += c;
    }
  }
  return out;
}

void md_blocks(const std::vector<Block>& blocks, const std::string& prefix, MarkdownOutput& out);

void md_block(const Block& b, const std::string& prefix, MarkdownOutput& out) {
  std::string& md = out.markdown;
  switch (b.kind) {
    case Block::Kind::Heading:
      md += fmt::format("{} {}\n\n", std::string(static_cast<size_t>(b.level), '#'), md_text(b.text, false));
      break;
    case Block::Kind::Paragraph:
      md += md_text(b.text, false) + "\n\n";
      break;
    case Block::Kind::Bullets:
      for (const auto& item : b.items) md += "- " + md_text(item, false) + "\n";
      md += "\n";
      break;
    case Block::Kind::Table: {
      const Table& t = b.table;
      md += "|";
      // fmt, not operator+: GCC 12 -O3 raises a false -Wrestrict on chained string concatenation.
      for (const auto& h : t.header) md += fmt::format(" {} |", md_text(h, true));
      md += "\n|";
      for (size_t c = 0; c < t.header.size(); ++c) {
        md += c < t.numeric.size() && t.numeric[c] ? "---:|" : "---|";
      }
      md += "\n";
      for (const auto& row : t.rows) {
        md += "|";
        for (const auto& cell : row) md += fmt::format(" {} |", md_text(cell, true));
        md += "\n";
      }
      md += "\n";
      break;
    }
    case Block::Kind::Chart: {
      const std::string file = fmt::format("{}-{}.svg", prefix, b.id);
      out.files.emplace_back(file, b.svg);
      md += fmt::format("![{}]({})\n\n", md_text(b.text, true), file);
      break;
    }
    case Block::Kind::Code:
      md += "```json\n" + b.text + (b.text.ends_with('\n') ? "" : "\n") + "```\n\n";
      break;
    case Block::Kind::Details:
      // Forges render Markdown inside <details> when blank lines surround it.
      md += fmt::format("<details><summary>{}</summary>\n\n", xml_escape(b.text));
      md_blocks(b.children, prefix, out);
      md += "</details>\n\n";
      break;
  }
}

void md_blocks(const std::vector<Block>& blocks, const std::string& prefix, MarkdownOutput& out) {
  for (const auto& b : blocks) md_block(b, prefix, out);
}

// ---- HTML ----------------------------------------------------------------------------------

// Escaped text with `code` spans as <code>.
std::string html_text(std::string_view s) {
  std::string out;
  bool code = false;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '`') {
      const std::string part = xml_escape(s.substr(start, i - start));
      out += code ? "<code>" + part + "</code>" : part;
      if (i < s.size()) code = !code;
      start = i + 1;
    }
  }
  return out;
}

// Heading ids for the table of contents-free anchors: lowercase words joined by '-'.
std::string anchor(std::string_view s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      out += static_cast<char>(std::tolower(u));
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

void html_blocks(const std::vector<Block>& blocks, std::string& html);

void html_block(const Block& b, std::string& html) {
  switch (b.kind) {
    case Block::Kind::Heading:
      html += fmt::format("<h{0} id=\"{1}\">{2}</h{0}>\n", b.level, anchor(b.text), html_text(b.text));
      break;
    case Block::Kind::Paragraph:
      html += "<p>" + html_text(b.text) + "</p>\n";
      break;
    case Block::Kind::Bullets:
      html += "<ul>\n";
      for (const auto& item : b.items) html += "<li>" + html_text(item) + "</li>\n";
      html += "</ul>\n";
      break;
    case Block::Kind::Table: {
      const Table& t = b.table;
      auto cls = [&](size_t c) { return c < t.numeric.size() && t.numeric[c] ? " class=\"num\"" : ""; };
      html += "<div class=\"scroll\"><table>\n<thead><tr>";
      for (size_t c = 0; c < t.header.size(); ++c) html += fmt::format("<th{}>{}</th>", cls(c), html_text(t.header[c]));
      html += "</tr></thead>\n<tbody>\n";
      for (const auto& row : t.rows) {
        html += "<tr>";
        for (size_t c = 0; c < row.size(); ++c) html += fmt::format("<td{}>{}</td>", cls(c), html_text(row[c]));
        html += "</tr>\n";
      }
      html += "</tbody></table></div>\n";
      break;
    }
    case Block::Kind::Chart:
      html += fmt::format("<figure id=\"chart-{}\">\n{}\n</figure>\n", b.id, b.svg);
      break;
    case Block::Kind::Code:
      html += "<pre><code>" + xml_escape(b.text) + "</code></pre>\n";
      break;
    case Block::Kind::Details:
      html += "<details><summary>" + html_text(b.text) + "</summary>\n";
      html_blocks(b.children, html);
      html += "</details>\n";
      break;
  }
}

void html_blocks(const std::vector<Block>& blocks, std::string& html) {
  for (const auto& b : blocks) html_block(b, html);
}

constexpr const char* kCss = R"(
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #1f2328;
       margin: 0 auto; padding: 16px 24px 48px; max-width: 1200px; line-height: 1.45; background: #fff; }
h1 { font-size: 1.7em; border-bottom: 1px solid #d0d7de; padding-bottom: .3em; }
h2 { font-size: 1.35em; border-bottom: 1px solid #d0d7de; padding-bottom: .25em; margin-top: 1.6em; }
h3 { font-size: 1.15em; margin-top: 1.4em; }
.scroll { overflow-x: auto; margin: 8px 0 16px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; white-space: nowrap; }
th { background: #f6f8fa; }
tbody tr:nth-child(even) { background: #fafbfc; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 0.92em; background: #f3f4f6;
       padding: 0 3px; border-radius: 3px; }
pre { background: #f6f8fa; padding: 10px; overflow: auto; max-height: 480px; font-size: 12px; }
pre code { background: none; padding: 0; }
figure { margin: 12px 0 20px; }
figure svg { max-width: 100%; height: auto; border: 1px solid #eaeef2; }
details { margin: 8px 0; }
summary { cursor: pointer; font-weight: 600; }
)";

}  // namespace

MarkdownOutput to_markdown(const Document& doc, const std::string& svg_prefix) {
  MarkdownOutput out;
  out.markdown = "# " + md_text(doc.title, false) + "\n\n";
  md_blocks(doc.blocks, svg_prefix, out);
  while (out.markdown.ends_with("\n\n")) out.markdown.pop_back();
  return out;
}

std::string to_html(const Document& doc) {
  // Polyglot markup (also well-formed XML), so tests can parse the whole page as XML.
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n";
  html += "<title>" + xml_escape(doc.title) + "</title>\n<style>" + kCss + "</style>\n</head>\n<body>\n";
  html += "<h1>" + html_text(doc.title) + "</h1>\n";
  html_blocks(doc.blocks, html);
  html += "</body>\n</html>\n";
  return html;
}

}  // namespace hone::report

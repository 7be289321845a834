// A report as a small tree of blocks (headings, paragraphs, lists, tables, charts, code,
// collapsible sections), built once and rendered twice: Markdown for a forge (charts as SVG
// files beside it) and one self-contained HTML file (charts inline, CSS inline, no script).
// Text is plain; a span between backticks is code in both renderers.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace hone::report {

struct Table {
  std::vector<std::string> header;
  std::vector<bool> numeric;  // per column: right-aligned
  std::vector<std::vector<std::string>> rows;
};

struct Block {
  enum class Kind { Heading, Paragraph, Bullets, Table, Chart, Code, Details };
  Kind kind = Kind::Paragraph;
  int level = 2;                    // Heading
  std::string text;                 // Heading, Paragraph, Code (its body), Details (its summary),
                                    // Chart (its alt text)
  std::string id;                   // Chart: file name stem ("bubble" -> "<report>-bubble.svg")
  std::string svg;                  // Chart
  std::vector<std::string> items;   // Bullets
  Table table;                      // Table
  std::vector<Block> children;      // Details

  static Block heading(int level, std::string text);
  static Block paragraph(std::string text);
  static Block bullets(std::vector<std::string> items);
  static Block table_of(Table t);
  static Block chart(std::string id, std::string alt, std::string svg);
  static Block code(std::string body);
  static Block details(std::string summary, std::vector<Block> children);
};

struct Document {
  std::string title;
  std::vector<Block> blocks;
};

struct MarkdownOutput {
  std::string markdown;
  std::vector<std::pair<std::string, std::string>> files;  // (file name, SVG text)
};

// Charts become "<svg_prefix>-<id>.svg" files, linked relative to the Markdown file.
MarkdownOutput to_markdown(const Document& doc, const std::string& svg_prefix);
std::string to_html(const Document& doc);

}  // namespace hone::report

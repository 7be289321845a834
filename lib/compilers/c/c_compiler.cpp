// `c`: the optimized model as standalone C99 (compilers/c/emit.h), built with the target
// platform's toolchain into a program the `executable` runtime runs: on Linux it streams samples
// through stdin / stdout, on a bare-metal board (os none) it reads and writes host files through
// semihosting (platforms/boards/). Output per target, in <target>/c/: model.h, model.c, main.c,
// the platform's linker script and board files, build.sh (the exact command), build.log, the
// binary `model`, its map file and the size report. A board's budgets are checked: weights
// larger than its flash before the build, the linker script's regions during it; either way the
// target fails with "does not fit: needs 1.4 MB flash, <board> has 1024 KB" (CheckFailed).
#include "compilers/c/emit.h"
#include "compilers/compiler.h"
#include "compilers/compilers.h"
#include "ir/onnx_io.h"
#include "platforms/platform.h"
#include "platforms/platforms.h"
#include "support/error.h"
#include "support/process.h"

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>

namespace hone::compilers {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string shell_quote(const std::string& s) {
  if (s.find_first_of(" \t'\"$`\\;&|<>()*?") == std::string::npos && !s.empty()) return s;
  std::string r = "'";
  for (char ch : s) r += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return r + "'";
}

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
  if (!f) throw internal_error("cannot write {}", p.string());
}

// Berkeley `size` output: "text data bss dec hex filename" and one row.
json size_report(const std::string& out) {
  std::istringstream s(out);
  std::string header;
  std::getline(s, header);
  int64_t text = 0, data = 0, bss = 0;
  if (!(s >> text >> data >> bss)) throw internal_error("cannot read size's output: {}", out);
  return {{"text", text}, {"data", data}, {"bss", bss}};
}

// "1.4 MB" / "812 KB" (binary units, as board budgets are given), rounded up.
std::string kb_or_mb(int64_t bytes) {
  if (bytes >= 1024 * 1024) return fmt::format("{:.1f} MB", std::ceil(bytes / (1024.0 * 1024.0) * 10) / 10);
  return fmt::format("{} KB", (bytes + 1023) / 1024);
}

// GNU ld's "region `FLASH' overflowed by 123 bytes" lines: region -> bytes over.
std::map<std::string, int64_t> region_overflows(const std::string& log) {
  static const std::regex re(R"(region [`'](\w+)' overflowed by (\d+) bytes)");
  std::map<std::string, int64_t> out;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator(); ++it) {
    out[(*it)[1]] = std::stoll((*it)[2]);
  }
  return out;
}

// The does-not-fit verdict: "needs 1.4 MB flash, stm32f746g-disco has 1024 KB" (and RAM).
[[noreturn]] void does_not_fit(const platforms::PlatformInfo& p, std::optional<int64_t> flash_needed,
                               std::optional<int64_t> ram_needed, const std::string& how) {
  std::vector<std::string> parts;
  if (flash_needed) parts.push_back(fmt::format("{} flash", kb_or_mb(*flash_needed)));
  if (ram_needed) parts.push_back(fmt::format("{} RAM", kb_or_mb(*ram_needed)));
  std::vector<std::string> has;
  if (flash_needed) has.push_back(fmt::format("{} KB flash", *p.flash_kb));
  if (ram_needed) has.push_back(fmt::format("{} KB RAM", *p.ram_kb));
  const auto join = [](const std::vector<std::string>& v) { return v.size() == 2 ? v[0] + " and " + v[1] : v[0]; };
  throw check_failed("does not fit: needs {}, {} has {} ({})", join(parts), p.name, join(has), how);
}

class CCompiler final : public Compiler {
 public:
  explicit CCompiler(bool integer_only) : integer_only_(integer_only) {}
  std::string name() const override { return "c"; }

  Artifact compile(const ir::Model& model, const platforms::Platform& platform, const fs::path& out_dir) override {
    const platforms::PlatformInfo* info = platform.info();
    const bool board = info && info->os == platforms::OperatingSystem::None;
    Artifact a;
    a.model = model;
    a.model.graph = c::prepare_graph(model.graph);
    // integer_only: the program takes and gives the quantized values; a.model keeps the whole
    // prepared graph (the runtime quantizes and dequantizes with its boundary nodes).
    ir::Graph emitted = a.model.graph;
    json boundary = nullptr;
    if (integer_only_) boundary = c::strip_quantization_boundary(emitted);
    const c::CSource src = c::emit_c(emitted);
    const fs::path dir = out_dir / "c";
    fs::create_directories(dir);
    for (const char* stale : {"model", "model.map", "size.txt"}) fs::remove(dir / stale);
    write_text(dir / "model.h", src.header);
    write_text(dir / "model.c", src.source);
    write_text(dir / "main.c", board ? c::emit_board_harness(src) : c::emit_harness(src));
    std::vector<std::string> files = {"c/model.h", "c/model.c", "c/main.c"};
    // The graph the C was generated from, for checking it with any ONNX runtime; a graph ONNX's
    // checker rejects (a value type without a shape, from some converters) is left out.
    fs::remove(dir / "model.onnx");
    std::string onnx_note;
    try {
      write_text(dir / "model.onnx", ir::serialize_onnx(a.model));
      files.push_back("c/model.onnx");
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::Internal) throw;
      onnx_note = e.detail();
    }

    // A board's weights alone can exceed its flash: say so before a long build.
    if (board && info->flash_kb && src.weight_bytes > *info->flash_kb * 1024) {
      does_not_fit(*info, src.weight_bytes, std::nullopt, fmt::format("its weights alone are {} bytes", src.weight_bytes));
    }

    const std::string cc = info ? info->toolchain.cc : "cc";
    const std::vector<std::string> cflags = info ? info->toolchain.cflags : std::vector<std::string>{"-O2"};
    const std::vector<std::string> ldflags = info ? info->toolchain.ldflags : std::vector<std::string>{};
    const std::vector<std::string> libs = info ? info->toolchain.libs : std::vector<std::string>{"-lm"};
    std::vector<std::string> sources = {"main.c", "model.c"};
    std::vector<std::string> link_script;
    if (info) {
      // The platform's files beside the generated ones, by file name.
      std::vector<std::string> shipped = info->toolchain.support_files;
      if (info->toolchain.linker_script) shipped.push_back(*info->toolchain.linker_script);
      for (const auto& rel : shipped) {
        const std::string name = fs::path(rel).filename().string();
        write_text(dir / name, std::string(platforms::embedded_platform_file(rel)));
        files.push_back("c/" + name);
        if (name.ends_with(".c")) sources.push_back(name);
      }
      if (info->toolchain.linker_script) {
        link_script = {"-T", fs::path(*info->toolchain.linker_script).filename().string()};
      }
    }
    std::vector<std::string> argv = {cc, "-std=c99", "-Wall", "-Wextra", "-Werror"};
    argv.insert(argv.end(), cflags.begin(), cflags.end());
    argv.insert(argv.end(), sources.begin(), sources.end());
    argv.insert(argv.end(), ldflags.begin(), ldflags.end());
    argv.insert(argv.end(), link_script.begin(), link_script.end());
    argv.insert(argv.end(), {"-Wl,-Map=model.map", "-o", "model"});
    argv.insert(argv.end(), libs.begin(), libs.end());
    std::string script = "#!/bin/sh\n# The command hone ran to build this target's model.\nset -e\ncd \"$(dirname \"$0\")\"\n";
    for (size_t i = 0; i < argv.size(); ++i) script += (i ? " " : "") + shell_quote(argv[i]);
    write_text(dir / "build.sh", script + "\n");
    fs::permissions(dir / "build.sh", fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                    fs::perm_options::add);
    files.insert(files.end(), {"c/build.sh", "c/build.log"});

    const support::ProcessResult built = support::run_process(argv, dir);
    write_text(dir / "build.log", built.out + built.err);
    if (built.exit_code != 0) {
      // The linker script holds a board to its budgets: an overflow is the model not fitting.
      const auto over = region_overflows(built.err);
      if (info && (over.count("FLASH") || over.count("RAM"))) {
        const auto need = [&](const char* region, const std::optional<int64_t>& kb) -> std::optional<int64_t> {
          if (!over.count(region) || !kb) return std::nullopt;
          return *kb * 1024 + over.at(region);
        };
        does_not_fit(*info, need("FLASH", info->flash_kb), need("RAM", info->ram_kb),
                     fmt::format("the linker script's limits; {}", (dir / "build.log").string()));
      }
      throw internal_error("the generated C did not build with {} (exit {}; {}): {}", cc, built.exit_code,
                           (dir / "build.log").string(), support::tail_lines(built.err, 6));
    }
    const std::string size_tool = info ? info->toolchain.size : "size";
    const support::ProcessResult sized = support::run_process({size_tool, "model"}, dir);
    if (sized.exit_code != 0) throw internal_error("{} failed: {}", size_tool, support::tail_lines(sized.err, 4));
    json size = size_report(sized.out);
    write_text(dir / "size.txt", sized.out);
    files.insert(files.end(), {"c/model", "c/model.map", "c/size.txt"});
    const int64_t text = size["text"], data = size["data"], bss = size["bss"];
    // flash: code, constants and initialized data; RAM: initialized data and bss (the harness's
    // static arena is in bss; on a board the linker script's stack reserve too).
    const int64_t flash = text + data, ram = data + bss;
    if (info && ((info->flash_kb && flash > *info->flash_kb * 1024) || (info->ram_kb && ram > *info->ram_kb * 1024))) {
      does_not_fit(*info, info->flash_kb && flash > *info->flash_kb * 1024 ? std::optional(flash) : std::nullopt,
                   info->ram_kb && ram > *info->ram_kb * 1024 ? std::optional(ram) : std::nullopt,
                   fmt::format("{} of the built program", size_tool));
    }

    json ports = json::object();
    for (const auto& [key, list] : {std::pair{"inputs", &src.inputs}, std::pair{"outputs", &src.outputs}}) {
      ports[key] = json::array();
      for (const auto& p : *list) {
        ports[key].push_back({{"name", p.name}, {"dtype", std::string(ir::dtype_name(p.dtype))}, {"shape", p.shape},
                              {"bytes", p.bytes}});
      }
    }
    a.file = dir / "model";
    a.detail = {{"format", "c"},
                {"directory", "c"},
                {"executable", "c/model"},
                {"harness", board ? "board" : "stdio"},
                {"integer_only", integer_only_},
                {"boundary", boundary},
                {"prepared_model", onnx_note.empty() ? json("c/model.onnx") : json(nullptr)},
                {"prepared_model_note", onnx_note.empty() ? json(nullptr) : json(onnx_note)},
                {"files", files},
                {"nodes", src.nodes.size()},
                {"arena_bytes", src.arena_bytes},
                {"weight_bytes", src.weight_bytes},
                {"toolchain", {{"cc", cc}, {"cflags", cflags}, {"ldflags", ldflags}, {"libs", libs}}},
                {"size", size},
                {"flash_bytes", flash},
                {"ram_bytes", ram},
                {"flash_budget_bytes", info && info->flash_kb ? json(*info->flash_kb * 1024) : json(nullptr)},
                {"ram_budget_bytes", info && info->ram_kb ? json(*info->ram_kb * 1024) : json(nullptr)},
                {"inputs", ports["inputs"]},
                {"outputs", ports["outputs"]}};
    return a;
  }

 private:
  bool integer_only_;
};

}  // namespace

pipeline::Registration c_compiler_registration() {
  pipeline::ComponentSpec spec;
  spec.name = "c";
  spec.description =
      "Standalone C99 (one function per node, one planned arena, const weights, exact int8 requantization), built "
      "with the platform's toolchain into a program the executable runtime runs";
  spec.params = {
      {"integer_only", pipeline::ParamType::Bool, false, false, std::nullopt, std::nullopt, {},
       "the program takes and gives quantized values and computes in integers only (no floating point, for "
       "FPU-less microcontrollers): the input's QuantizeLinear and the output's DequantizeLinear run on the host. "
       "Needs a model quantized end to end (quantize_static with quantize_outputs)"},
  };
  return pipeline::make_registration<Compiler>(std::move(spec), [](const json& p, const pipeline::BuildContext&) {
    return std::make_unique<CCompiler>(p.at("integer_only").get<bool>());
  });
}

}  // namespace hone::compilers
